'use strict'

// The text of `m2m-token --help`. Kept apart from the command so that the
// command reads as a flow, and so the flags, environment variables and exit
// statuses a person reads here are the ones the tests check.

const HELP = `Usage: m2m-token [get] [options]         print an access token
       m2m-token invalidate [options]   drop the cached token, so the next get fetches a new one
       m2m-token --help | --version     (or -h | -v)

Prints an OAuth 2.0 client-credentials access token (an Auth0 Management API v2
token by default) for shell scripts and CI jobs. Tokens are cached in files shared
by every run on this machine, so repeated runs send one token request per token
lifetime, not one per run.

  TOKEN=$(m2m-token)
  curl -H "$(m2m-token --header)" "https://$AUTH0_DOMAIN/api/v2/clients"

Endpoint and client:
  --domain D               Auth0 tenant, e.g. contoso.auth0.com; the token URL is
                           https://D/oauth/token                 (default: $AUTH0_DOMAIN)
  --token-url URL          any OAuth 2.0 token endpoint, instead of --domain
  --client-id ID           (default: $M2M_CLIENT_ID, else $AUTH0_CLIENT_ID)
  --audience A             API to ask a token for (with --domain: https://D/api/v2/)
  --scope S                space-separated scopes to ask for
  --auth-method M          client_secret_post (default), client_secret_basic,
                           private_key_jwt (the default with --private-key-file),
                           tls_client_auth (the default with --cert-file and no
                           secret) or self_signed_tls_client_auth
  --client-secret-file F   read the client secret from file F, or from standard
                           input with -       (default: $M2M_CLIENT_SECRET, else
                           $AUTH0_CLIENT_SECRET); one trailing newline is dropped
  --private-key-file F     PEM private key, to sign a private_key_jwt assertion
  --key-id K               kid header of that assertion
  --signing-algorithm A    RS256 (default), RS384, PS256 or ES256
  --cert-file F            PEM client certificate (then its chain) for mutual TLS:
                           presented on every token request; tokens are bound to it.
                           With --domain the token URL is https://mtls.D/oauth/token
  --key-file F             the certificate's private key (PKCS#8, PKCS#1 or SEC1 PEM).
                           With both and no --client-secret-file, the certificate
                           authenticates: the environment's secret is not used

  A client secret or key is never taken as an argument: others on this machine can
  read a process's arguments. Use the environment, a file, or standard input.

Cache and requests:
  --store S                where tokens are shared: file (default: one folder per
                           user, $XDG_CACHE_HOME/m2m-token else ~/.cache/m2m-token),
                           file:/abs/dir, memory (this run only), redis://host:port,
                           rediss://..., redis+cluster://host:port,...,
                           redis+sentinel://host:port,.../master
                                                     (default: $M2M_TOKEN_STORE, else file)
  --leeway-seconds N       never print a token that expires within N seconds (60)
  --timeout-ms N           time allowed per HTTP attempt (10000)
  --retries N              extra attempts after a network error, a 5xx or a 429 (2)

Output of get (standard output holds nothing else):
  (default)                the access token and a newline
  --json                   the token's details as one line of JSON: accessToken,
                           tokenType, expiresAt (ms since epoch), scope, fromCache
  --header                 Authorization: <tokenType> <accessToken>

invalidate drops the token the store holds for these options (from the store and
from memory), so the next get fetches a new one: run it when an API refused the
token. It prints nothing and exits 0 whether or not a token was there to drop
(with --store memory there never is: each run has its own memory).

Environment:
  AUTH0_DOMAIN             default for --domain
  M2M_CLIENT_ID            default for --client-id (AUTH0_CLIENT_ID if unset)
  M2M_CLIENT_SECRET        the client secret (AUTH0_CLIENT_SECRET if unset); not
                           used with --private-key-file
  M2M_TOKEN_STORE          default for --store
  NODE_EXTRA_CA_CERTS      extra trusted root certificates (a private CA), PEM file
  An empty variable counts as unset.

Exit status (errors print one line on standard error: m2m-token: <code>: <message>):
  0  success
  1  any other error (e.g. standard output closed before the token was written)
  2  ERR_INVALID_OPTIONS: bad or missing options, or a usage error
  3  ERR_OAUTH: the endpoint refused the request with an OAuth error (e.g. invalid_client)
  4  ERR_HTTP_STATUS: any other non-2xx answer
  5  ERR_RATE_LIMITED: still 429 after the retries
  6  ERR_TIMEOUT: no attempt was answered within --timeout-ms
  7  ERR_NETWORK: connect, DNS or TLS failure
  8  ERR_INVALID_RESPONSE: the answer held no usable token
`

module.exports = { HELP }
