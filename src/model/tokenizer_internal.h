/*
 * tokenizer_internal.h: the tokenizer object shared by the algorithm files
 * (tokenizer_spm.c, tokenizer_bpe.c, tokenizer_pretok.c), the loaders
 * (tokenizer_gguf.c, tokenizer_hf.c, llama2c.c) and tokenizer.c (building,
 * special tokens, encode and decode). The behaviour follows llama.cpp's
 * src/llama-vocab.cpp and src/unicode.cpp, whose test-tokenizer-0 vectors
 * the tests replay.
 */
#ifndef MLXN_TOKENIZER_INTERNAL_H
#define MLXN_TOKENIZER_INTERNAL_H

#include "model/model_io.h"

/* Token attributes (bits), as llama.cpp's llama_token_attr. */
enum {
    TOK_ATTR_UNKNOWN = 1 << 0,
    TOK_ATTR_UNUSED = 1 << 1,
    TOK_ATTR_NORMAL = 1 << 2,
    TOK_ATTR_CONTROL = 1 << 3,
    TOK_ATTR_USER_DEFINED = 1 << 4,
    TOK_ATTR_BYTE = 1 << 5,
    TOK_ATTR_LSTRIP = 1 << 7,
    TOK_ATTR_RSTRIP = 1 << 8
};

/* Pre-tokenizers of byte-level BPE, selected by tokenizer.ggml.pre (or
 * recognised from a tokenizer.json pre_tokenizer). */
typedef enum tok_pre {
    TOK_PRE_NONE = 0,    /* SPM, or BPE over whole fragments */
    TOK_PRE_DEFAULT,     /* llama.cpp's default regex chain */
    TOK_PRE_GPT2,        /* GPT-2's regex */
    TOK_PRE_LLAMA3,      /* Llama 3: \p{N}{1,3}, [\r\n] handling */
    TOK_PRE_QWEN2,       /* like Llama 3 with single digits */
    TOK_PRE_DEEPSEEK_CODER,
    TOK_PRE_FALCON,
    TOK_PRE_STARCODER,   /* single digits, then GPT-2's regex */
    TOK_PRE_COUNT
} tok_pre;

typedef struct tok_entry {
    const char *text; /* NUL-terminated (may also contain NULs) */
    uint32_t len;
    uint32_t attr;    /* TOK_ATTR_* */
    float score;
    int type;         /* mlxn_token_type as loaded */
} tok_entry;

struct mlxn_tokenizer {
    mlxn_tokenizer_kind kind;
    tok_pre pre;
    int byte_level;         /* BPE: GPT-2 byte mapping (else raw UTF-8) */
    int add_space_prefix;   /* 1: "▁" before text that starts the input or follows
                             * a special token; 2: only at the start */
    int escape_whitespace;  /* replace ' ' with U+2581 before the model */
    int ignore_merges;      /* BPE: a whole word in the vocab is one token */
    int add_bos, add_eos;
    int32_t bos, eos, eot, eom, unk, pad; /* -1 when absent */
    int32_t n_vocab;
    tok_entry *tokens;
    mlxn__strmap token_map; /* text -> id */
    mlxn__strmap merge_map; /* "left right" -> rank */
    int32_t *special;       /* ids of control/user/unknown tokens, longest first */
    int32_t n_special;
    const char **pieces;    /* decoded piece per token (special tokens as text) */
    uint32_t *piece_len;
    int32_t byte_token[256]; /* byte -> token for byte fallback, or -1 */
    uint32_t byte_cp[256];   /* GPT-2 byte -> codepoint */
    mlxn__arena arena;
};

/* Longest text one mlxn_tokenizer_encode call takes (bytes). */
#define MLXN__TOK_MAX_TEXT ((size_t)512 << 20)

/* ---- building (tokenizer.c) ----------------------------------------------------- */

/* A tokenizer with room for n tokens (all undefined until added). */
mlxn_status mlxn__tok_create(mlxn_tokenizer_kind kind, int64_t n, mlxn_tokenizer **out);
/* Set token id from e's text (len bytes, copied), score and type. A
 * duplicate text or an id out of range fails with a message naming `src`. */
mlxn_status mlxn__tok_set(mlxn_tokenizer *tok, int32_t id, const tok_entry *e,
                          const char *src);
/* Add a merge "left right" (copied) with a rank; duplicates keep the
 * first rank, lines without a separating space are ignored. */
mlxn_status mlxn__tok_add_merge(mlxn_tokenizer *tok, const char *line, size_t len,
                                int32_t rank);
/* After all tokens are set: fill empty slots, find byte tokens, the
 * special-token list and the decoded pieces. */
mlxn_status mlxn__tok_finish(mlxn_tokenizer *tok, const char *src);

int32_t mlxn__tok_find(const mlxn_tokenizer *tok, const char *text, size_t len);
tok_pre mlxn__tok_pre_from_name(const char *name, int *ignore_merges, int *add_bos);
const char *mlxn__tok_pre_name(tok_pre pre);

/* ---- algorithms ----------------------------------------------------------------- */

/* An int32 output list that grows; the encode entry point owns it. */
typedef struct tok_out {
    int32_t *ids;
    size_t n, cap;
    int oom;
} tok_out;

void mlxn__tok_push(tok_out *o, int32_t id);

/* Symbols (byte ranges of the text) linked in order while merging. */
typedef struct tok_symbol {
    int32_t prev, next; /* -1 at the ends */
    const char *text;
    uint32_t n; /* 0 once merged into its left neighbour */
} tok_symbol;

/* A candidate merge of symbols left and right. The heap pops the smallest
 * key first (BPE: the merge rank; SPM: minus the token score), then the
 * leftmost, as llama.cpp's priority queues do. */
typedef struct tok_bigram {
    double key;
    int32_t left, right;
    uint32_t size; /* bytes of both symbols when the bigram was made */
} tok_bigram;

typedef struct tok_heap {
    tok_bigram *v;
    size_t n, cap;
    int oom;
} tok_heap;

void mlxn__heap_push(tok_heap *h, tok_bigram b);
int mlxn__heap_pop(tok_heap *h, tok_bigram *out);

/* SentencePiece-style merges by score over one escaped fragment. */
void mlxn__spm_encode(const mlxn_tokenizer *tok, const char *text, size_t len, tok_out *out);
/* Byte-level (or raw) BPE over one fragment: pre-tokenize, merge by rank. */
void mlxn__bpe_encode(const mlxn_tokenizer *tok, const char *text, size_t len, tok_out *out);

/* Split text into words with the pre-tokenizer; returns the number of
 * words and sets *cps (the decoded codepoints) and *lens (codepoints per
 * word), both malloc'd; -1 when out of memory. */
int64_t mlxn__pretokenize(tok_pre pre, const char *text, size_t len, uint32_t **cps,
                          size_t **lens);

#endif /* MLXN_TOKENIZER_INTERNAL_H */
