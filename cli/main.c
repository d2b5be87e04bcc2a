/* tzwm: the command-line client of the tzwm PKCS#11 module. */
#include "cli.h"
#include "module.h" /* ckr_name */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct command {
    const char *name;
    int (*run)(const struct command_context *context);
    const char *arguments;
    const char *help; /* may run over several lines */
    bool no_module;   /* offline: run() neither loads nor initializes the module */
} commands[] = {
    {"slots", command_slots, "", "list the module's slots and their tokens", false},
    {"keys", command_keys, SESSION_OPTIONS_USAGE,
     "the token's signing keys: label, id, type, tz address, public key", false},
    {"sign", command_sign, SESSION_OPTIONS_USAGE " --key ADDRESS|LABEL HEX",
     "sign a whole Tezos request (magic byte included) through the module; prints the "
     "signature\n"
     "exit 0 signed, 2 refused (watermark or policy), 3 store unavailable, 1 any other error",
     false},
    {"watermarks", command_watermarks, "[--address tz…] [--chain Net…] [--json]",
     "the rows of the watermark table (reads DynamoDB; no module, no token)", true},
    {"decode", command_decode, "HEX", "decode a Tezos signing request given in hex, as JSON", true},
    {"address", command_address, "PUBKEY", "the tz address of an edpk/sppk/p2pk public key", true},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tzwm [--module PATH] COMMAND [ARGS]\n"
                 "       tzwm --version\n\n"
                 "options:\n"
                 "  --module PATH    the PKCS#11 module to use (default: libtzwm.so beside tzwm)\n"
                 "  --token LABEL    (keys, sign) the token with this label (default: the only "
                 "initialized token)\n"
                 "  --slot N         (keys, sign) the token in slot N\n"
                 "  --pin-file FILE  (keys, sign) the user PIN is the file's first line (default: "
                 "$TZWM_PIN)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *help = commands[i].help, *end;

        fprintf(out, "  tzwm %s%s%s\n", commands[i].name, *commands[i].arguments ? " " : "",
                commands[i].arguments);
        for (; *help != '\0'; help = *end ? end + 1 : end) {
            end = help + strcspn(help, "\n");
            fprintf(out, "      %.*s\n", (int)(end - help), help);
        }
    }
    fprintf(out,
            "\nThe module is configured by the environment (TZWM_MODULE, TZWM_LOG_FILE, AWS_*, "
            "TZWM_TABLE...);\ntzwm watermarks reads the same AWS_* and TZWM_TABLE.\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static int run(const struct command *command, const char *module_path, int argc, char **argv)
{
    struct client_module module;
    char error[1024];
    CK_RV rv;
    int status;

    if (command->no_module)
        return command->run(&(struct command_context){NULL, argc, argv});
    if (client_module_load(&module, module_path, error, sizeof error) != 0) {
        fprintf(stderr, "tzwm: %s\n", error);
        return 1;
    }
    rv = module.p11->C_Initialize(NULL);
    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm: C_Initialize failed: %s (see the module's log)\n", ckr_name(rv));
        client_module_unload(&module);
        return 1;
    }
    status = command->run(&(struct command_context){module.p11, argc, argv});
    module.p11->C_Finalize(NULL);
    /* Not unloaded: the process ends now, and a leak report made at exit (LeakSanitizer) needs
     * the modules' code still mapped to name their frames, which the suppressions of SoftHSM's
     * own leaks match. */
    return status;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"module", required_argument, NULL, 'm'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char default_module[4096];
    const char *module_path = NULL;
    const struct command *command;
    int option;

    /* "+": options stop at the command; what follows belongs to it. */
    while ((option = getopt_long(argc, argv, "+m:Vh", options, NULL)) != -1) {
        switch (option) {
        case 'm':
            module_path = optarg;
            break;
        case 'V':
            printf("tzwm %s\n", TZWM_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 1;
    }
    command = find_command(argv[optind]);
    if (command == NULL) {
        fprintf(stderr, "tzwm: unknown command '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (module_path == NULL)
        module_path = client_default_module(default_module, sizeof default_module);
    return run(command, module_path, argc - optind, argv + optind);
}
