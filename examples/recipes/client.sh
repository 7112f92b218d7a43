#!/usr/bin/env bash
# A client of a fastify-request-jwt API in bash, with curl and openssl: `bash client.sh`.
# REQUEST_JWT_BASE_URL is the API's base URL, REQUEST_JWT_API_KEY the API key the service gave you. It sends a POST
# bound to its path and body, then a GET bound to its path and query, and prints each answer, refusals included.
# Everything signed goes through printf '%s', never echo: echo adds a newline, and a newline signed is a token refused.
set -euo pipefail

base=${REQUEST_JWT_BASE_URL%/}
key=$REQUEST_JWT_API_KEY
# {key_name}-{service_id}-{secret}, counted from the end (a key name may hold "-" too): the secret is the last 36
# characters; the service id is the 36 before the "-" that precedes the secret.
secret=${key: -36}
service_id=${key: -73:36}
# A path in the base URL (https://gateway.example/notify) is part of the path the service sees, so it is signed.
prefix=$(printf '%s' "$base" | sed -E 's#^[A-Za-z][A-Za-z0-9+.-]*://[^/]*##')

# base64url: one line (-A, or long input is wrapped), "-" and "_" for "+" and "/", no "=" padding.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# token METHOD TARGET [BODY]: a token bound to the method and request-target, and to the body's bytes when given.
token() {
  local claims input
  claims=$(printf '{"iss":"%s","iat":%s,"jti":"%s","req":"%s %s"' "$service_id" "$(date +%s)" "$(openssl rand -hex 16)" "$1" "$2")
  if [ $# -ge 3 ]; then
    claims+=$(printf ',"pay":"%s"' "$(printf '%s' "$3" | openssl dgst -sha256 -binary | b64url)")
  fi
  input="$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '%s}' "$claims" | b64url)"
  # The secret is on openssl's command line here: other users of this machine can see it in the process list.
  printf '%s.%s' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
}

# send METHOD PATH [BODY]: one request with a token made for it (a new one for every request, retries included);
# prints the status and the answer (a refusal's body says what was wrong), and fails unless the status is 2xx.
send() {
  local out args=(--silent --show-error --request "$1" --write-out '\n%{http_code}'
    --header "Authorization: Bearer $(token "$1" "$prefix$2" "${@:3}")")
  if [ $# -ge 3 ]; then
    # --data-binary sends the bytes as they are (-d strips newlines); curl's default type is a form's.
    out=$(printf '%s' "$3" | curl "${args[@]}" --header 'Content-Type: application/json' --data-binary @- "$base$2")
  else
    out=$(curl "${args[@]}" "$base$2")
  fi
  printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}"
  [[ ${out##*$'\n'} == 2?? ]]
}

# The body, once, in UTF-8 (this file's encoding): those bytes are hashed and those bytes are sent.
body='{"email_address":"zoe@example.com","template_id":"f33517ff-2a88-4f6e-b855-c550268ce08a","personalisation":{"name":"Zoë"}}'
# The query, percent-encoded once ("Zoë Smith": its UTF-8 bytes, %20 for the space): signed and sent as it is.
query='reference=Zo%C3%AB%20Smith&status=delivered'
status=0
send POST /v2/notifications/email "$body" || status=1
send GET "/v2/notifications?$query" || status=1
exit $status
