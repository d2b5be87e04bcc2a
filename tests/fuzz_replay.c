/*
 * Runs the fuzz target without libFuzzer (gcc builds, ctest): over each file of the seed corpus
 * and, deterministically, over each one-byte change of it (every offset set to 0x00, 0xff and each
 * single bit flipped), each truncation and each one-byte extension.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mutate_and_run(uint8_t *data, size_t size)
{
    LLVMFuzzerTestOneInput(data, size);
    for (size_t len = 0; len < size; len++)
        LLVMFuzzerTestOneInput(data, len);
    for (unsigned value = 0; value < 256; value++) {
        data[size] = (uint8_t)value;
        LLVMFuzzerTestOneInput(data, size + 1);
    }
    for (size_t i = 0; i < size; i++) {
        uint8_t original = data[i];
        static const uint8_t values[] = {0x00, 0xff, 0x7f, 0x80};

        for (size_t v = 0; v < sizeof values; v++) {
            data[i] = values[v];
            LLVMFuzzerTestOneInput(data, size);
        }
        for (int bit = 0; bit < 8; bit++) {
            data[i] = original ^ (uint8_t)(1u << bit);
            LLVMFuzzerTestOneInput(data, size);
        }
        data[i] = original;
    }
}

int main(int argc, char **argv)
{
    DIR *directory;
    struct dirent *entry;
    int files = 0;

    if (argc != 2 || (directory = opendir(argv[1])) == NULL) {
        fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
        return 1;
    }
    while ((entry = readdir(directory)) != NULL) {
        char path[4096];
        uint8_t data[4096];
        size_t size;
        FILE *file;

        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], entry->d_name);
        if ((file = fopen(path, "rb")) == NULL) {
            perror(path);
            return 1;
        }
        size = fread(data, 1, sizeof data - 1, file);
        fclose(file);
        mutate_and_run(data, size);
        files++;
    }
    closedir(directory);
    printf("%d corpus files replayed with their one-byte mutations\n", files);
    return files > 0 ? 0 : 1;
}
