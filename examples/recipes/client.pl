#!/usr/bin/env perl
# A client of a fastify-request-jwt API in Perl 5.14 or later, with core modules alone: `perl client.pl`.
# REQUEST_JWT_BASE_URL is the API's base URL, REQUEST_JWT_API_KEY the API key the service gave you. It sends a POST
# bound to its path and body, then a GET bound to its path and query, and prints each answer, refusals included.
# (For https, HTTP::Tiny needs IO::Socket::SSL and Net::SSLeay, which are not core modules.)
use strict;
use warnings;
use utf8;    # this file is UTF-8: "Zoë" is three characters
use Digest::SHA qw(sha256 hmac_sha256);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);

my $base = $ENV{REQUEST_JWT_BASE_URL} =~ s{/+$}{}r;
my $api_key = $ENV{REQUEST_JWT_API_KEY} =~ s/^\s+|\s+$//gr;
# {key_name}-{service_id}-{secret}, counted from the end (a key name may hold "-" too): the secret is the last 36
# characters; the service id is the 36 before the "-" that precedes the secret.
my $secret = substr($api_key, -36);
my $service_id = substr($api_key, -73, 36);
# A path in the base URL (https://gateway.example/notify) is part of the path the service sees, so it is signed.
my ($prefix) = $base =~ m{^[a-z][a-z0-9+.-]*://[^/]*(.*)$}i;
my $json = JSON::PP->new->utf8->canonical;    # utf8: encodes to UTF-8 bytes
my $http = HTTP::Tiny->new;

# A token bound to the method and request-target, and to the body's bytes when there is a body.
sub make_token {
    my ($method, $target, $body) = @_;
    open my $random, '<:raw', '/dev/urandom' or die "cannot read /dev/urandom: $!";
    read($random, my $bytes, 16) == 16 or die 'cannot read 16 random bytes';
    # iat is a number: time() is one, as long as it is never used as a string (JSON::PP would then quote it).
    my %claims = (iss => $service_id, iat => time(), jti => unpack('H*', $bytes), req => "$method $target");
    $claims{pay} = encode_base64url(sha256($body)) if defined $body;
    my $signing_input = encode_base64url('{"alg":"HS256","typ":"JWT"}') . '.' . encode_base64url($json->encode(\%claims));
    return $signing_input . '.' . encode_base64url(hmac_sha256($signing_input, $secret));
}

# Sends one request with a token made for it (a new one for every request, retries included); prints the answer.
sub send_request {
    my ($method, $path_and_query, $body) = @_;
    my %headers = (Authorization => 'Bearer ' . make_token($method, $prefix . $path_and_query, $body));
    $headers{'Content-Type'} = 'application/json' if defined $body;    # HTTP::Tiny would send application/octet-stream
    my $response = $http->request($method, $base . $path_and_query,
        { headers => \%headers, (defined $body ? (content => $body) : ()) });
    print "$response->{status} $response->{content}\n";    # a refusal's body says what was wrong
    return $response->{success};
}

# Percent-encodes the UTF-8 bytes of a query value.
sub percent_encode {
    my ($text) = @_;
    utf8::encode($text);
    $text =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $text;
}

# Serialise the body once, as UTF-8 bytes: those bytes are hashed and those bytes are sent.
my $body = $json->encode({ email_address => 'zoe@example.com', template_id => 'f33517ff-2a88-4f6e-b855-c550268ce08a',
    personalisation => { name => 'Zoë' } });
my $posted = send_request('POST', '/v2/notifications/email', $body);
# Encode the query once ("Zoë Smith" becomes Zo%C3%AB%20Smith): sign and send that same text.
my $query = 'reference=' . percent_encode('Zoë Smith') . '&status=delivered';
my $listed = send_request('GET', "/v2/notifications?$query");
exit($posted && $listed ? 0 : 1);
