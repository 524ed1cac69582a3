/*
 * unicode.h: what the tokenizers need from Unicode: UTF-8 decoding and
 * encoding with llama.cpp's rules, a codepoint class table (letter, number,
 * punctuation, ... and White_Space; generated into unicode_table.c), and
 * GPT-2's byte-to-codepoint mapping for byte-level BPE.
 */
#ifndef MLXN_UNICODE_H
#define MLXN_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Codepoint classes (bits 0-2 of a class code); bit 3 is White_Space. */
enum {
    MLXN__UCLASS_UNDEFINED = 0,
    MLXN__UCLASS_NUMBER = 1,
    MLXN__UCLASS_LETTER = 2,
    MLXN__UCLASS_SEPARATOR = 3,
    MLXN__UCLASS_MARK = 4,
    MLXN__UCLASS_PUNCT = 5,
    MLXN__UCLASS_SYMBOL = 6,
    MLXN__UCLASS_CONTROL = 7,
    MLXN__UCLASS_MASK = 7,
    MLXN__UWHITESPACE = 8
};

extern const uint32_t mlxn__unicode_runs[];
extern const int mlxn__unicode_n_runs;

/* Class code of a codepoint; past U+10FFFF: undefined. */
unsigned mlxn__uclass(uint32_t cp);

/* Bytes of the UTF-8 sequence a lead byte announces (1 for continuation
 * and invalid bytes), as llama.cpp's unicode_len_utf8. */
size_t mlxn__utf8_len(uint8_t lead);

/* Decode one codepoint from s[0..n) (n >= 1), as llama.cpp does: no check
 * for overlong forms or surrogates; an invalid or cut sequence yields
 * U+FFFD and consumes one byte. *used gets the bytes consumed. Results
 * above U+10FFFF are also returned as U+FFFD. */
uint32_t mlxn__utf8_decode(const uint8_t *s, size_t n, size_t *used);

/* Encode cp (<= U+10FFFF) into out; returns the byte count (1-4). */
size_t mlxn__utf8_encode(uint32_t cp, char out[4]);

/* GPT-2 byte-level BPE: the codepoint that stands for byte b, and the
 * byte a codepoint stands for (-1 when it stands for none). */
uint32_t mlxn__byte_to_cp(uint8_t b);
int mlxn__cp_to_byte(uint32_t cp);

#endif /* MLXN_UNICODE_H */
