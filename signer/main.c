/*
 * tzwm-signer: the Octez remote-signer HTTP protocol in front of libtzwm.so. It loads the module,
 * logs in once, reads the token's keys, serves until SIGTERM, SIGINT or SIGHUP, then lets the
 * requests under way finish, closes its sessions and finalizes the module.
 */
#include "signer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LISTEN  "127.0.0.1:6732"
#define STOP_GRACE_MS   10000
#define WORKERS_MAX     256
#define CONNECTIONS_MAX 65536
#define TIMEOUT_MAX_S   3600
#define OPTION_LISTEN   'l'
#define OPTION_MODULE   'm'
#define OPTION_WORKERS  'w'
#define OPTION_MAX_CONN 'c'
#define OPTION_TIMEOUT  't'
#define OPTION_SYSLOG   's'
#define OPTION_VERSION  'V'
#define OPTION_HELP     'h'

struct signer_options {
    const char *module_path;
    char host[64];
    struct http_options http;
    struct session_options session;
    bool use_syslog;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tzwm-signer [--listen HOST:PORT] [--module PATH] [--workers N]\n"
            "                   [--max-connections N] [--timeout SECONDS] [--syslog]\n"
            "                   " SESSION_OPTIONS_USAGE "\n"
            "       tzwm-signer --version\n\n"
            "The Octez remote-signer HTTP protocol (octez-client -R, octez-baker --remote-signer)\n"
            "over the keys of a token, signing through the tzwm PKCS#11 module.\n\n"
            "  --listen HOST:PORT     address to serve on (default " DEFAULT_LISTEN
            "; [::1]:6732 for IPv6)\n"
            "  --module PATH          the PKCS#11 module (default: libtzwm.so beside tzwm-signer)\n"
            "  --workers N            worker threads, each with its own PKCS#11 session (default "
            "4)\n"
            "  --max-connections N    connections at once (default 64)\n"
            "  --timeout SECONDS      an idle connection is closed after it (default 30)\n"
            "  --syslog               log to syslog rather than stderr\n"
            "  --token LABEL          the token with this label (default: the only initialized "
            "token)\n"
            "  --slot N               the token in slot N\n"
            "  --pin-file FILE        the user PIN is the file's first line (default: "
            "$TZWM_PIN)\n\n"
            "The module is configured by the environment (TZWM_MODULE, AWS_*, TZWM_TABLE...).\n");
}

/* A whole number in [1, max]. */
static bool parse_count(const char *text, unsigned max, unsigned *value)
{
    char *end;
    unsigned long number;

    errno = 0;
    number = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || number < 1 || number > max)
        return false;
    *value = (unsigned)number;
    return true;
}

/* HOST:PORT, HOST an IPv4 address or a bracketed IPv6 one. */
/* The signer resolves no names: a host that is not an IPv4 or IPv6 address is refused with the
 * command line, before the module is loaded and the token logged in to. */
static bool is_ip_address(const char *host)
{
    struct in6_addr address;

    return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1;
}

static bool parse_listen(const char *text, struct signer_options *options)
{
    const char *colon = strrchr(text, ':');
    const char *host = text;
    size_t host_len;
    unsigned port;

    if (colon == NULL || !parse_count(colon + 1, 65535, &port))
        return false;
    host_len = (size_t)(colon - text);
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    } else if (memchr(host, ':', host_len) != NULL) {
        return false; /* ::1 without brackets: where would the port be? */
    }
    if (host_len == 0 || host_len >= sizeof options->host)
        return false;
    memcpy(options->host, host, host_len);
    options->host[host_len] = '\0';
    if (!is_ip_address(options->host))
        return false;
    options->http.host = options->host;
    options->http.port = (uint16_t)port;
    return true;
}

/* 0, 1 for a bad command line, or -1 when the caller should exit 0 (--help, --version). */
static int parse_options(int argc, char **argv, struct signer_options *options)
{
    static const struct option table[] = {
        SESSION_OPTIONS,
        {"listen", required_argument, NULL, OPTION_LISTEN},
        {"module", required_argument, NULL, OPTION_MODULE},
        {"workers", required_argument, NULL, OPTION_WORKERS},
        {"max-connections", required_argument, NULL, OPTION_MAX_CONN},
        {"timeout", required_argument, NULL, OPTION_TIMEOUT},
        {"syslog", no_argument, NULL, OPTION_SYSLOG},
        {"version", no_argument, NULL, OPTION_VERSION},
        {"help", no_argument, NULL, OPTION_HELP},
        {NULL, 0, NULL, 0},
    };
    int option;
    bool ok = true;

    parse_listen(DEFAULT_LISTEN, options);
    options->http.workers = 4;
    options->http.max_connections = 64;
    options->http.timeout_s = 30;
    while ((option = getopt_long(argc, argv, "", table, NULL)) != -1) {
        switch (option) {
        case OPTION_LISTEN:
            ok = parse_listen(optarg, options);
            break;
        case OPTION_MODULE:
            options->module_path = optarg;
            break;
        case OPTION_WORKERS:
            ok = parse_count(optarg, WORKERS_MAX, &options->http.workers);
            break;
        case OPTION_MAX_CONN:
            ok = parse_count(optarg, CONNECTIONS_MAX, &options->http.max_connections);
            break;
        case OPTION_TIMEOUT:
            ok = parse_count(optarg, TIMEOUT_MAX_S, &options->http.timeout_s);
            break;
        case OPTION_SYSLOG:
            options->use_syslog = true;
            break;
        case OPTION_VERSION:
            printf("tzwm-signer %s\n", TZWM_VERSION);
            return -1;
        case OPTION_HELP:
            usage(stdout);
            return -1;
        default:
            ok = session_option(&options->session, option, optarg);
            break;
        }
        if (!ok) {
            if (optarg != NULL)
                fprintf(stderr, "tzwm-signer: bad value '%s'\n", optarg);
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 1;
    }
    /* libmicrohttpd shares the connections out among the workers: one with no share would only
     * hold a PKCS#11 session (an HSM has few). */
    if (options->http.workers > options->http.max_connections)
        options->http.workers = options->http.max_connections;
    return 0;
}

/* The keys served, once at start, so that the log says what this signer answers for. */
static void log_keys(const struct keyring *keyring)
{
    for (size_t i = 0; i < keyring->count; i++)
        request_log_note("key %s (%s, label '%s')", keyring->keys[i].identity.address,
                         token_key_type(&keyring->keys[i]), keyring->keys[i].label);
}

/* Serves until SIGTERM, SIGINT or SIGHUP. They are blocked in every thread (the workers inherit the
 * mask from this one) and taken here by sigwait, so no handler runs inside a worker. */
static int serve(struct signer *signer, const struct signer_options *options,
                 const sigset_t *stop_signals)
{
    struct http_server *server = http_start(signer, &options->http);
    int signal_number = 0;

    if (server == NULL)
        return 1;
    request_log_note("listening on %s%s%s:%u with %u workers",
                     strchr(options->host, ':') ? "[" : "", options->host,
                     strchr(options->host, ':') ? "]" : "", options->http.port,
                     options->http.workers);
    sigwait(stop_signals, &signal_number);
    request_log_note("%s: stopping", strsignal(signal_number));
    http_stop(server, STOP_GRACE_MS);
    return __atomic_load_n(&signer->token_lost, __ATOMIC_ACQUIRE) ? SIGNER_EXIT_TOKEN_LOST : 0;
}

static int run(const struct signer_options *options, const sigset_t *stop_signals)
{
    CK_C_INITIALIZE_ARGS threaded = {.flags = CKF_OS_LOCKING_OK};
    struct client_module module;
    struct signer signer = {0};
    char error[1024];
    CK_RV rv;
    int status = 1;

    if (client_module_load(&module, options->module_path, error, sizeof error) != 0) {
        fprintf(stderr, "tzwm-signer: %s\n", error);
        return 1;
    }
    /* Workers call the module at once: it must lock (tzwm and the real module with it). */
    rv = module.p11->C_Initialize(&threaded);
    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm-signer: C_Initialize failed: %s (see the module's log)\n",
                ckr_name(rv));
        return 1;
    }
    signer.sessions = session_pool_open(module.p11, &options->session, options->http.workers);
    if (signer.sessions == NULL)
        goto out;
    if (keyring_load(&signer.keyring, session_pool_first(signer.sessions)) != 0)
        goto out;
    if (signer.keyring.count == 0) {
        fprintf(stderr, "tzwm-signer: no Ed25519, secp256k1 or P-256 private key on the token\n");
        goto out;
    }
    log_keys(&signer.keyring);
    status = serve(&signer, options, stop_signals);
out:
    session_pool_close(signer.sessions);
    keyring_free(&signer.keyring);
    module.p11->C_Finalize(NULL);
    /* Not unloaded, as in tzwm: a leak report at exit needs the modules' code still mapped. */
    if (status == 0 || status == SIGNER_EXIT_TOKEN_LOST)
        request_log_note("stopped");
    return status;
}

int main(int argc, char **argv)
{
    struct signer_options options = {0};
    char default_module[4096];
    sigset_t stop_signals;
    int parsed = parse_options(argc, argv, &options);

    if (parsed != 0)
        return parsed < 0 ? 0 : 1;
    if (options.module_path == NULL)
        options.module_path = client_default_module(default_module, sizeof default_module);
    /* A peer gone mid-answer must never kill the signer, whatever library writes to it (the
     * vendor's PKCS#11 module runs in this process too). */
    signal(SIGPIPE, SIG_IGN);
    /* SIGHUP stops gracefully too: there is nothing to reload, and dying at once would drop the
     * requests under way. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    request_log_open(options.use_syslog);
    return run(&options, &stop_signals);
}
