/*
 * unicode.c: UTF-8 decoding and encoding, the codepoint class lookup over
 * the generated run table, and GPT-2's byte-to-unicode mapping (bytes that
 * are printable Latin-1 map to themselves, the rest to U+0100 upwards in
 * byte order; see openai/gpt-2 encoder.py bytes_to_unicode).
 */
#include "model/unicode.h"

unsigned mlxn__uclass(uint32_t cp)
{
    if (cp > 0x10FFFF)
        return MLXN__UCLASS_UNDEFINED;
    /* Last run whose start is <= cp. */
    int lo = 0, hi = mlxn__unicode_n_runs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if ((mlxn__unicode_runs[mid] >> 4) <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return mlxn__unicode_runs[lo] & 15;
}

size_t mlxn__utf8_len(uint8_t lead)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

static int cont(uint8_t b) { return (b & 0xc0) == 0x80; }

uint32_t mlxn__utf8_decode(const uint8_t *s, size_t n, size_t *used)
{
    uint8_t b = s[0];
    *used = 1;
    if (!(b & 0x80))
        return b;
    if (!(b & 0x40))
        return 0xFFFD;
    if (!(b & 0x20)) {
        if (n < 2 || !cont(s[1]))
            return 0xFFFD;
        *used = 2;
        return ((uint32_t)(b & 0x1f) << 6) | (s[1] & 0x3f);
    }
    if (!(b & 0x10)) {
        if (n < 3 || !cont(s[1]) || !cont(s[2]))
            return 0xFFFD;
        *used = 3;
        return ((uint32_t)(b & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
    }
    if (!(b & 0x08)) {
        if (n < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3]))
            return 0xFFFD;
        *used = 4;
        uint32_t cp = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
                      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        return cp > 0x10FFFF ? 0xFFFD : cp;
    }
    return 0xFFFD;
}

size_t mlxn__utf8_encode(uint32_t cp, char out[4])
{
    if (cp <= 0x7f) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp <= 0x7ff) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp <= 0xffff) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Bytes GPT-2 keeps as themselves: '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF. */
static int byte_is_direct(unsigned b)
{
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
}

uint32_t mlxn__byte_to_cp(uint8_t b)
{
    if (byte_is_direct(b))
        return b;
    /* The n-th byte (in order) that is not direct maps to 256 + n. */
    uint32_t n = 0;
    for (unsigned c = 0; c < b; c++)
        n += !byte_is_direct(c);
    return 256 + n;
}

int mlxn__cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return byte_is_direct(cp) ? (int)cp : -1;
    if (cp >= 256 + 68)
        return -1;
    uint32_t n = cp - 256;
    for (unsigned c = 0; c < 256; c++)
        if (!byte_is_direct(c) && n-- == 0)
            return (int)c;
    return -1;
}
