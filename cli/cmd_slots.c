/* tzwm slots: every slot the module reports, with its token. */
#include "cli.h"
#include "module.h" /* ckr_name */

#include <stdio.h>
#include <stdlib.h>

static void print_token(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot)
{
    CK_TOKEN_INFO info;
    char label[33], manufacturer[33], model[17], serial[17];
    CK_RV rv = p11->C_GetTokenInfo(slot, &info);

    if (rv != CKR_OK) {
        printf("slot %lu: token info unavailable (%s)\n", slot, ckr_name(rv));
        return;
    }
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) {
        printf("slot %lu: uninitialized token\n", slot);
        return;
    }
    printf("slot %lu: token \"%s\" (%s %s, serial %s)%s%s\n", slot,
           client_field(info.label, sizeof info.label, label, sizeof label),
           client_field(info.manufacturerID, sizeof info.manufacturerID, manufacturer,
                        sizeof manufacturer),
           client_field(info.model, sizeof info.model, model, sizeof model),
           client_field(info.serialNumber, sizeof info.serialNumber, serial, sizeof serial),
           info.flags & CKF_USER_PIN_INITIALIZED ? " user PIN set" : " no user PIN",
           info.flags & CKF_LOGIN_REQUIRED ? ", login required" : "");
}

int command_slots(const struct command_context *context)
{
    CK_FUNCTION_LIST_PTR p11 = context->p11;
    CK_SLOT_ID *slots;
    CK_ULONG count;
    CK_RV rv;

    if (context->argc != 1) {
        fprintf(stderr, "usage: tzwm slots\n");
        return 1;
    }
    rv = client_slot_list(p11, CK_FALSE, &slots, &count);
    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm: C_GetSlotList failed: %s\n", ckr_name(rv));
        return 1;
    }
    for (CK_ULONG i = 0; i < count; i++) {
        CK_SLOT_INFO info;

        if (p11->C_GetSlotInfo(slots[i], &info) == CKR_OK && !(info.flags & CKF_TOKEN_PRESENT))
            printf("slot %lu: no token\n", slots[i]);
        else
            print_token(p11, slots[i]);
    }
    free(slots);
    return 0;
}
