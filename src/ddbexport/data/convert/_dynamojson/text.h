/* Shared by every part: the output buffer, the parser, JSON strings as orjson writes them, plain
   numbers, base64.
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

typedef unsigned char uchar;

/* The small helpers marked HOT are forced inline: they run for every byte or value. */
#define HOT static inline __attribute__((always_inline))

typedef struct {
    uchar *data;
    size_t len;
    size_t cap;
} Buffer;

typedef struct {
    const uchar *p;
    const uchar *end;
    Buffer *out;
    Buffer *scratch; /* decoded set members */
    int depth;
} Parser;

/* A piece of a buffer, by offset: buffers move when they grow. */
typedef struct {
    size_t start;
    size_t length;
} Span;

#define MAX_DEPTH 40 /* DynamoDB nests 32 levels at most */
#define MAX_MEMBERS 64 /* of a set converted here */
#define MAX_KEYS 256   /* of a map converted here: each key is checked against the others */
#define FAIL (-1)
#define NO_MEMORY (-2)

static int reserve(Buffer *buffer, size_t more) {
    if (buffer->len + more <= buffer->cap) {
        return 0;
    }
    size_t cap = buffer->cap ? buffer->cap : 4096;
    while (cap < buffer->len + more) {
        cap *= 2;
    }
    uchar *grown = realloc(buffer->data, cap);
    if (grown == NULL) {
        return NO_MEMORY;
    }
    buffer->data = grown;
    buffer->cap = cap;
    return 0;
}

HOT int put(Buffer *buffer, const void *bytes, size_t count) {
    if (reserve(buffer, count) != 0) {
        return NO_MEMORY;
    }
    memcpy(buffer->data + buffer->len, bytes, count);
    buffer->len += count;
    return 0;
}

HOT int put_byte(Buffer *buffer, uchar byte) {
    if (buffer->len == buffer->cap && reserve(buffer, 1) != 0) {
        return NO_MEMORY;
    }
    buffer->data[buffer->len++] = byte;
    return 0;
}

HOT void skip_space(Parser *parser) {
    while (parser->p < parser->end) {
        uchar c = *parser->p;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        parser->p++;
    }
}

HOT int expect(Parser *parser, uchar c) {
    skip_space(parser);
    if (parser->p >= parser->end || *parser->p != c) {
        return FAIL;
    }
    parser->p++;
    return 0;
}

/* ------------------------------------------------------------------------------- strings */

static const char HEX[] = "0123456789abcdef";

/* Bytes orjson writes as they are inside a string: 0 = as is, else the escape's letter, or 'u'. */
static uchar ESCAPE[256];

/* Bytes copied as they are in a run inside a string: printable ASCII but the quote and
   backslash. One table lookup per byte is what makes the common case fast. */
static uchar PLAIN[256];

static void init_escapes(void) {
    for (int c = 0x20; c < 0x80; c++) {
        PLAIN[c] = 1;
    }
    PLAIN['"'] = 0;
    PLAIN['\\'] = 0;
    for (int c = 0; c < 0x20; c++) {
        ESCAPE[c] = 'u';
    }
    ESCAPE['\b'] = 'b';
    ESCAPE['\t'] = 't';
    ESCAPE['\n'] = 'n';
    ESCAPE['\f'] = 'f';
    ESCAPE['\r'] = 'r';
    ESCAPE['"'] = '"';
    ESCAPE['\\'] = '\\';
}

static int put_escaped_byte(Buffer *out, uchar c) {
    uchar letter = ESCAPE[c];
    if (letter == 'u') {
        uchar text[6] = {'\\', 'u', '0', '0', (uchar)HEX[c >> 4], (uchar)HEX[c & 15]};
        return put(out, text, 6);
    }
    uchar text[2] = {'\\', letter};
    return put(out, text, 2);
}

/* The length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static size_t utf8_length(const uchar *p, const uchar *end) {
    uchar c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) {
            return 0; /* overlong, or a surrogate */
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

static int hex_value(uchar c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const uchar *p, const uchar *end, uint32_t *value) {
    if (end - p < 4) return FAIL;
    uint32_t result = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(p[i]);
        if (digit < 0) return FAIL;
        result = (result << 4) | (uint32_t)digit;
    }
    *value = result;
    return 0;
}

static size_t encode_utf8(uint32_t code, uchar *text) {
    if (code < 0x80) {
        text[0] = (uchar)code;
        return 1;
    }
    if (code < 0x800) {
        text[0] = (uchar)(0xC0 | (code >> 6));
        text[1] = (uchar)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        text[0] = (uchar)(0xE0 | (code >> 12));
        text[1] = (uchar)(0x80 | ((code >> 6) & 0x3F));
        text[2] = (uchar)(0x80 | (code & 0x3F));
        return 3;
    }
    text[0] = (uchar)(0xF0 | (code >> 18));
    text[1] = (uchar)(0x80 | ((code >> 12) & 0x3F));
    text[2] = (uchar)(0x80 | ((code >> 6) & 0x3F));
    text[3] = (uchar)(0x80 | (code & 0x3F));
    return 4;
}

/*
 * The first byte from p that is a quote, a backslash or, with `plain`, a control character or
 * not ASCII: where a string's run of bytes copied as they are ends. Sixteen bytes at a time
 * where SSE2 is (every x86-64): strings are most of what an export holds.
 */
static const uchar *run_end(const uchar *p, const uchar *end, int plain) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    /* signed: bytes from 0x80 are negative, so "below 0x20" catches them too */
    const __m128i space = plain ? _mm_set1_epi8(0x20) : _mm_set1_epi8(-128);
    while (end - p >= 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)p);
        __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
            _mm_cmplt_epi8(bytes, space));
        int mask = _mm_movemask_epi8(special);
        if (mask != 0) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    if (plain) {
        while (p < end && PLAIN[*p]) p++;
    } else {
        while (p < end && *p != '"' && *p != '\\') p++;
    }
    return p;
}

/*
 * Reads a JSON string (parser at its opening quote) and writes its text to `decoded` unescaped
 * (escaped is NULL) or, as orjson writes it, to `escaped` (with quotes). Lone surrogates,
 * control characters and invalid UTF-8 fail: orjson refuses them, so Python must say so.
 */
static int read_string(Parser *parser, Buffer *decoded, Buffer *escaped) {
    const uchar *p = parser->p;
    const uchar *end = parser->end;
    if (p >= end || *p != '"') return FAIL;
    p++;
    if (escaped != NULL && put_byte(escaped, '"') != 0) return NO_MEMORY;
    Buffer *target = escaped != NULL ? escaped : decoded;
    for (;;) {
        const uchar *run = p;
        /* A run of bytes written as they are: the common case, copied in one go. */
        p = run_end(p, end, 1);
        if (p > run && put(target, run, (size_t)(p - run)) != 0) return NO_MEMORY;
        if (p >= end) return FAIL;
        uchar c = *p;
        if (c == '"') {
            p++;
            break;
        }
        if (c < 0x20) return FAIL;
        if (c >= 0x80) {
            size_t length = utf8_length(p, end);
            if (length == 0) return FAIL;
            if (put(target, p, length) != 0) return NO_MEMORY;
            p += length;
            continue;
        }
        /* an escape */
        if (end - p < 2) return FAIL;
        uchar kind = p[1];
        uint32_t code;
        switch (kind) {
            case '"': code = '"'; p += 2; break;
            case '\\': code = '\\'; p += 2; break;
            case '/': code = '/'; p += 2; break;
            case 'b': code = '\b'; p += 2; break;
            case 'f': code = '\f'; p += 2; break;
            case 'n': code = '\n'; p += 2; break;
            case 'r': code = '\r'; p += 2; break;
            case 't': code = '\t'; p += 2; break;
            case 'u': {
                if (read_hex4(p + 2, end, &code) != 0) return FAIL;
                p += 6;
                if (code >= 0xDC00 && code <= 0xDFFF) return FAIL;
                if (code >= 0xD800 && code <= 0xDBFF) {
                    uint32_t low;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return FAIL;
                    if (read_hex4(p + 2, end, &low) != 0) return FAIL;
                    if (low < 0xDC00 || low > 0xDFFF) return FAIL;
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
                break;
            }
            default:
                return FAIL;
        }
        if (escaped != NULL && code < 0x80 && ESCAPE[code]) {
            if (put_escaped_byte(escaped, (uchar)code) != 0) return NO_MEMORY;
        } else {
            uchar text[4];
            if (put(target, text, encode_utf8(code, text)) != 0) return NO_MEMORY;
        }
    }
    if (escaped != NULL && put_byte(escaped, '"') != 0) return NO_MEMORY;
    parser->p = p;
    return 0;
}

/* Writes decoded text as orjson writes a string. */
static int write_string(Buffer *out, const uchar *text, size_t length) {
    if (put_byte(out, '"') != 0) return NO_MEMORY;
    size_t start = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < 0x80 && ESCAPE[text[i]]) {
            if (put(out, text + start, i - start) != 0) return NO_MEMORY;
            if (put_escaped_byte(out, text[i]) != 0) return NO_MEMORY;
            start = i + 1;
        }
    }
    if (put(out, text + start, length - start) != 0) return NO_MEMORY;
    return put_byte(out, '"');
}

/* The raw bytes between a string's quotes when it has no escapes (type tags, numbers, base64). */
HOT int read_plain_string(Parser *parser, const uchar **text, size_t *length) {
    if (expect(parser, '"') != 0) return FAIL;
    const uchar *start = parser->p;
    while (parser->p < parser->end && PLAIN[*parser->p]) parser->p++;
    if (parser->p >= parser->end || *parser->p != '"') return FAIL;
    *text = start;
    *length = (size_t)(parser->p - start);
    parser->p++;
    return 0;
}

/* The start of a FULL export's line, {"Item": {, up to the item's first attribute. */
static int open_record(Parser *parser) {
    const uchar *key;
    size_t key_length;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &key, &key_length) != 0) return FAIL;
    if (key_length != 4 || memcmp(key, "Item", 4) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    return expect(parser, '{');
}

/* ------------------------------------------------------------------------------- numbers */

/*
 * A number is written as the export holds it when the text is a JSON number orjson reads as an
 * int or a float. Exponents are left to Python (orjson refuses those that overflow a double,
 * and Python then writes the Decimal's text), as is anything that is not JSON.
 */
static int plain_json_number(const uchar *text, size_t length) {
    size_t i = 0;
    if (i < length && text[i] == '-') i++;
    if (i >= length) return 0;
    if (text[i] == '0') {
        i++;
    } else if (text[i] >= '1' && text[i] <= '9') {
        while (i < length && text[i] >= '0' && text[i] <= '9') i++;
    } else {
        return 0;
    }
    if (i < length && text[i] == '.') {
        i++;
        size_t digits = i;
        while (i < length && text[i] >= '0' && text[i] <= '9') i++;
        if (i == digits) return 0;
    }
    /* 300 digits stay far below a double's overflow (about 1.8e308). */
    return i == length && length <= 300;
}

/* An integer that Decimal writes back as the same text and that fits int64 with room to spare. */
static int small_integer(const uchar *text, size_t length, int64_t *value) {
    size_t i = 0;
    int negative = 0;
    if (length == 0 || length > 19) return 0;
    if (text[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (i >= length || (text[i] == '0' && length > i + 1) || (negative && text[i] == '0')) {
        return 0; /* leading zeros, and -0 (equal to 0 in a set: which text wins is Python's) */
    }
    if (length - i > 18) return 0;
    int64_t result = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        result = result * 10 + (text[i] - '0');
    }
    *value = negative ? -result : result;
    return 1;
}

/* ------------------------------------------------------------------------------- base64 */

static int base64_value(uchar c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Text that decoding and encoding again gives back unchanged. */
static int canonical_base64(const uchar *text, size_t length) {
    if (length % 4 != 0) return 0;
    if (length == 0) return 1;
    size_t padding = 0;
    if (text[length - 1] == '=') padding++;
    if (text[length - 2] == '=') padding++;
    for (size_t i = 0; i < length - padding; i++) {
        if (base64_value(text[i]) < 0) return 0;
    }
    int last = base64_value(text[length - padding - 1]);
    if (padding == 1 && (last & 0x3) != 0) return 0;
    if (padding == 2 && (last & 0xF) != 0) return 0;
    return 1;
}
