// A client of a fastify-request-jwt API in Java 17 or later, with the JDK alone: `java Client.java`.
// REQUEST_JWT_BASE_URL is the API's base URL, REQUEST_JWT_API_KEY the API key the service gave you.
// It sends a POST bound to its path and body, then a GET bound to its path and query, and prints each answer.
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Client {
  static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  static final PrintStream OUT = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static String base = System.getenv("REQUEST_JWT_BASE_URL").replaceAll("/+$", "");
  static String apiKey = System.getenv("REQUEST_JWT_API_KEY").strip();
  // {key_name}-{service_id}-{secret}, counted from the end (a key name may hold "-" too): the secret is the last 36
  // characters; the service id is the 36 before the "-" that precedes the secret, so it ends 37 from the end.
  static String secret = apiKey.substring(apiKey.length() - 36);
  static String serviceId = apiKey.substring(apiKey.length() - 73, apiKey.length() - 37);
  // A path in the base URL (https://gateway.example/notify) is part of the path the service sees, so it is signed.
  static String prefix = URI.create(base).getRawPath();

  public static void main(String[] args) throws Exception {
    // Serialise the body once, as UTF-8 bytes: those bytes are hashed and those bytes are sent.
    byte[] body = ("{\"email_address\":\"zoe@example.com\",\"template_id\":\"f33517ff-2a88-4f6e-b855-c550268ce08a\","
        + "\"personalisation\":{\"name\":\"Zo\u00eb\"}}").getBytes(StandardCharsets.UTF_8);
    boolean posted = send("POST", "/v2/notifications/email", body);
    // Encode the query once (HttpClient would send an "e" with diaeresis as "%C3%AB" anyway): sign and send that text.
    String query = "reference=" + URLEncoder.encode("Zo\u00eb Smith", StandardCharsets.UTF_8).replace("+", "%20") + "&status=delivered";
    boolean listed = send("GET", "/v2/notifications?" + query, null);
    System.exit(posted && listed ? 0 : 1);
  }

  /** Sends one request with a token made for it (a new one for every request, retries included); prints the answer. */
  static boolean send(String method, String pathAndQuery, byte[] body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + pathAndQuery))
        .header("Authorization", "Bearer " + token(method, prefix + pathAndQuery, body));
    if (body == null) request.GET();
    else request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(body));
    HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    OUT.println(response.statusCode() + " " + response.body()); // a refusal's body says what was wrong
    return response.statusCode() / 100 == 2;
  }

  /** A token bound to the method and request-target, and to the body's bytes when there is a body. */
  static String token(String method, String target, byte[] body) throws Exception {
    // The values need no JSON escaping: UUIDs, a number, a percent-encoded target, base64url.
    String claims = "{\"iss\":\"" + serviceId + "\",\"iat\":" + Instant.now().getEpochSecond()
        + ",\"jti\":\"" + UUID.randomUUID() + "\",\"req\":\"" + method + " " + target + "\""
        + (body == null ? "" : ",\"pay\":\"" + BASE64URL.encodeToString(MessageDigest.getInstance("SHA-256").digest(body)) + "\"")
        + "}";
    String signingInput = base64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + base64url(claims);
    Mac hmac = Mac.getInstance("HmacSHA256");
    hmac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return signingInput + "." + BASE64URL.encodeToString(hmac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
  }

  static String base64url(String json) {
    return BASE64URL.encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }
}
