/*
 * yazill - let YAZ (the reference ISO 10161 ILL implementation) judge BER bytes.
 *
 *   yazill decode [-p] FILE
 *       FILE ("-" = stdin) holds one or more BER ILL-APDUs back to back.
 *       Each APDU is decoded with YAZ's ill_APDU() and encoded again; the
 *       re-encoded bytes of all APDUs are written to stdout.  With -p, YAZ's
 *       own printed form of each APDU goes to stderr.  On a decode failure a
 *       single line naming the byte offset goes to stderr and the exit code is 1.
 *
 *   yazill bench N FILE
 *       Decodes the first APDU of FILE N times and re-encodes it N times, then
 *       prints "decodes_per_s=<float>" and "encodes_per_s=<float>" on stdout.
 *
 * Exit codes: 0 ok, 1 YAZ rejected the data, 2 usage or I/O error.
 *
 * Build: gcc -O2 -o yazill yazill.c $(pkg-config --cflags --libs yaz)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaz/ill.h>
#include <yaz/odr.h>

#define EXIT_REJECTED 1
#define EXIT_USAGE 2

static void usage(void)
{
    fprintf(stderr,
            "usage: yazill decode [-p] FILE\n"
            "       yazill bench N FILE\n"
            "FILE may be - for standard input\n");
}

/* Read a whole file (or stdin for "-") into a malloc'ed buffer. */
static int slurp(const char *path, char **out, int *out_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = 0;
    size_t len = 0, cap = 0;

    if (!f)
    {
        fprintf(stderr, "yazill: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;)
    {
        size_t got;
        if (len == cap)
        {
            char *nbuf;
            cap = cap ? cap * 2 : 65536;
            if (cap > (size_t) INT_MAX)
            {
                fprintf(stderr, "yazill: %s is too large\n", path);
                goto fail;
            }
            nbuf = realloc(buf, cap);
            if (!nbuf)
            {
                fprintf(stderr, "yazill: out of memory reading %s\n", path);
                goto fail;
            }
            buf = nbuf;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
    {
        fprintf(stderr, "yazill: error reading %s\n", path);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *out = buf;
    *out_len = (int) len;
    return 0;
fail:
    free(buf);
    if (f != stdin)
        fclose(f);
    return -1;
}

/* One line on stderr describing why YAZ refused the bytes at base + odr offset. */
static void report_decode_error(ODR dec, int apdu_no, int base)
{
    int x = 0;
    int err = odr_geterrorx(dec, &x);
    const char *element = odr_getelement(dec);

    fprintf(stderr,
            "yazill: YAZ could not decode APDU %d (starting at offset %d): "
            "%s (ODR error %d:%d) at offset %d, element=%s\n",
            apdu_no, base, odr_errmsg(err), err, x, base + odr_offset(dec),
            element && *element ? element : "<unknown>");
}

static int cmd_decode(const char *path, int print)
{
    ODR dec = odr_createmem(ODR_DECODE);
    ODR enc = odr_createmem(ODR_ENCODE);
    ODR prt = odr_createmem(ODR_PRINT);
    char *data = 0;
    int len = 0, pos = 0, apdu_no = 0, rc = 0;

    if (slurp(path, &data, &len))
    {
        rc = EXIT_USAGE;
        goto done;
    }
    if (len == 0)
    {
        fprintf(stderr, "yazill: %s is empty, no APDU at offset 0\n", path);
        rc = EXIT_REJECTED;
        goto done;
    }
    odr_setprint_noclose(prt, stderr);
    while (pos < len)
    {
        ILL_APDU *apdu = 0;
        char *out;
        int out_len = 0, used;

        apdu_no++;
        odr_reset(dec);
        odr_setbuf(dec, data + pos, len - pos, 0);
        if (!ill_APDU(dec, &apdu, 0, 0))
        {
            report_decode_error(dec, apdu_no, pos);
            rc = EXIT_REJECTED;
            goto done;
        }
        used = odr_offset(dec);
        if (used <= 0)
        {
            fprintf(stderr, "yazill: APDU %d at offset %d consumed no bytes\n", apdu_no,
                    pos);
            rc = EXIT_REJECTED;
            goto done;
        }
        if (print)
        {
            fprintf(stderr, "-- APDU %d: offset %d, %d bytes\n", apdu_no, pos, used);
            ill_APDU(prt, &apdu, 0, 0);
            odr_reset(prt);
        }
        odr_reset(enc);
        if (!ill_APDU(enc, &apdu, 0, 0))
        {
            int err = odr_geterror(enc);
            const char *element = odr_getelement(enc);
            fprintf(stderr, "yazill: YAZ could not re-encode APDU %d (offset %d): %s, element=%s\n",
                    apdu_no, pos, odr_errmsg(err), element && *element ? element : "<unknown>");
            rc = EXIT_REJECTED;
            goto done;
        }
        out = odr_getbuf(enc, &out_len, 0);
        if (out_len > 0 && fwrite(out, 1, (size_t) out_len, stdout) != (size_t) out_len)
        {
            fprintf(stderr, "yazill: write to stdout failed\n");
            rc = EXIT_USAGE;
            goto done;
        }
        pos += used;
    }
    if (fflush(stdout))
    {
        fprintf(stderr, "yazill: write to stdout failed\n");
        rc = EXIT_USAGE;
    }
done:
    free(data);
    odr_destroy(prt);
    odr_destroy(enc);
    odr_destroy(dec);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmd_bench(long n, const char *path)
{
    ODR dec = odr_createmem(ODR_DECODE);
    ODR enc = odr_createmem(ODR_ENCODE);
    ILL_APDU *apdu = 0;
    char *data = 0;
    int len = 0, rc = 0;
    long i;
    double t0, dec_s, enc_s;

    if (slurp(path, &data, &len))
    {
        rc = EXIT_USAGE;
        goto done;
    }

    t0 = now_s();
    for (i = 0; i < n; i++)
    {
        odr_reset(dec);
        odr_setbuf(dec, data, len, 0);
        apdu = 0;
        if (!ill_APDU(dec, &apdu, 0, 0))
        {
            report_decode_error(dec, 1, 0);
            rc = EXIT_REJECTED;
            goto done;
        }
    }
    dec_s = now_s() - t0;

    /* apdu still points into dec's memory from the last round */
    t0 = now_s();
    for (i = 0; i < n; i++)
    {
        int out_len = 0;
        odr_reset(enc);
        if (!ill_APDU(enc, &apdu, 0, 0) || !odr_getbuf(enc, &out_len, 0))
        {
            fprintf(stderr, "yazill: YAZ could not re-encode the APDU: %s\n",
                    odr_errmsg(odr_geterror(enc)));
            rc = EXIT_REJECTED;
            goto done;
        }
    }
    enc_s = now_s() - t0;

    printf("decodes_per_s=%.1f\n", dec_s > 0 ? (double) n / dec_s : 0.0);
    printf("encodes_per_s=%.1f\n", enc_s > 0 ? (double) n / enc_s : 0.0);
    if (fflush(stdout))
        rc = EXIT_USAGE;
done:
    free(data);
    odr_destroy(enc);
    odr_destroy(dec);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "decode") == 0)
    {
        const char *path = 0;
        int print = 0, i;
        for (i = 2; i < argc; i++)
        {
            if (strcmp(argv[i], "-p") == 0)
                print = 1;
            else if (!path)
                path = argv[i];
            else
            {
                usage();
                return EXIT_USAGE;
            }
        }
        if (!path)
        {
            usage();
            return EXIT_USAGE;
        }
        return cmd_decode(path, print);
    }
    if (argc == 4 && strcmp(argv[1], "bench") == 0)
    {
        char *end = 0;
        long n;
        errno = 0;
        n = strtol(argv[2], &end, 10);
        if (errno || !end || *end || n <= 0)
        {
            fprintf(stderr, "yazill: N must be a positive integer, got %s\n", argv[2]);
            return EXIT_USAGE;
        }
        return cmd_bench(n, argv[3]);
    }
    usage();
    return EXIT_USAGE;
}
