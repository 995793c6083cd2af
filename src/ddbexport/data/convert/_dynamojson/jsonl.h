/* Plain JSON lines: typed values written as json_safe_item + orjson.dumps write them; transcode().
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

/* ------------------------------------------------------------------------------- values */

static int write_value(Parser *parser);

/* After a member of an object or array: 1 when another follows (its comma consumed and, with
   `out`, written), 0 at `close` (consumed), FAIL on anything else. */
static inline int next_member(Parser *parser, uchar close, Buffer *out) {
    skip_space(parser);
    if (parser->p >= parser->end) return FAIL;
    uchar c = *parser->p++;
    if (c == ',') {
        if (out != NULL && put_byte(out, ',') != 0) return NO_MEMORY;
        return 1;
    }
    return c == close ? 0 : FAIL;
}

static int write_map(Parser *parser) {
    /* parser after '{' */
    if (++parser->depth > MAX_DEPTH) return FAIL;
    Buffer *out = parser->out;
    int status;
    if ((status = put_byte(out, '{')) != 0) return status;
    Span keys[MAX_KEYS];
    size_t key_count = 0;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == '}') {
        parser->p++;
    } else {
        for (;;) {
            skip_space(parser);
            size_t key_start = out->len;
            if ((status = read_string(parser, NULL, out)) != 0) return status;
            if (key_count == MAX_KEYS) return FAIL;
            /* A repeated key: Python keeps the last value at the first one's place. Written
               keys are compared, as escapes are already undone and redone in them. */
            Span key = {key_start, out->len - key_start};
            for (size_t i = 0; i < key_count; i++) {
                if (keys[i].length == key.length &&
                    memcmp(out->data + keys[i].start, out->data + key.start, key.length) == 0) {
                    return FAIL;
                }
            }
            keys[key_count++] = key;
            if (expect(parser, ':') != 0) return FAIL;
            if ((status = put_byte(out, ':')) != 0) return status;
            if ((status = write_value(parser)) != 0) return status;
            if ((status = next_member(parser, '}', out)) <= 0) break;
        }
        if (status != 0) return status;
    }
    parser->depth--;
    return put_byte(out, '}');
}

static int write_list(Parser *parser) {
    /* parser after '[' */
    if (++parser->depth > MAX_DEPTH) return FAIL;
    Buffer *out = parser->out;
    int status;
    if ((status = put_byte(out, '[')) != 0) return status;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        for (;;) {
            if ((status = write_value(parser)) != 0) return status;
            if ((status = next_member(parser, ']', out)) <= 0) break;
        }
        if (status != 0) return status;
    }
    parser->depth--;
    return put_byte(out, ']');
}

/* Insertion sort of decoded strings by bytes: sets are small (at most MAX_MEMBERS here). */
static void sort_spans(Span *spans, size_t count, const uchar *base) {
    for (size_t i = 1; i < count; i++) {
        Span held = spans[i];
        size_t j = i;
        while (j > 0) {
            const Span *before = &spans[j - 1];
            size_t shorter = before->length < held.length ? before->length : held.length;
            int order = memcmp(base + before->start, base + held.start, shorter);
            if (order < 0 || (order == 0 && before->length <= held.length)) break;
            spans[j] = spans[j - 1];
            j--;
        }
        spans[j] = held;
    }
}

/* SS: the strings sorted (code point order is UTF-8 byte order) without repeats. */
static int write_string_set(Parser *parser) {
    if (expect(parser, '[') != 0) return FAIL;
    Buffer *scratch = parser->scratch;
    scratch->len = 0;
    Span spans[MAX_MEMBERS];
    size_t count = 0;
    int status;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        do {
            if (count == MAX_MEMBERS) return FAIL; /* a bigger set is left to Python's sort */
            skip_space(parser);
            size_t start = scratch->len;
            if ((status = read_string(parser, scratch, NULL)) != 0) return status;
            spans[count].start = start;
            spans[count].length = scratch->len - start;
            count++;
        } while ((status = next_member(parser, ']', NULL)) > 0);
        if (status != 0) return status;
    }
    sort_spans(spans, count, scratch->data);
    Buffer *out = parser->out;
    if (put_byte(out, '[') != 0) return NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            const Span *a = &spans[i - 1];
            const Span *b = &spans[i];
            if (a->length == b->length &&
                memcmp(scratch->data + a->start, scratch->data + b->start, a->length) == 0) {
                continue;
            }
            if (put_byte(out, ',') != 0) return NO_MEMORY;
        }
        if (write_string(out, scratch->data + spans[i].start, spans[i].length) != 0) {
            return NO_MEMORY;
        }
    }
    return put_byte(out, ']');
}

static int compare_int64(const void *left, const void *right) {
    int64_t a = *(const int64_t *)left;
    int64_t b = *(const int64_t *)right;
    return (a > b) - (a < b);
}

/* NS of plain integers: sorted by value without repeats (Decimal writes them back unchanged). */
static int write_number_set(Parser *parser) {
    if (expect(parser, '[') != 0) return FAIL;
    int64_t numbers[MAX_MEMBERS];
    size_t count = 0;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        int status;
        do {
            const uchar *text;
            size_t length;
            if (count == MAX_MEMBERS) return FAIL;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (!small_integer(text, length, &numbers[count])) return FAIL;
            count++;
        } while ((status = next_member(parser, ']', NULL)) > 0);
        if (status != 0) return status;
    }
    qsort(numbers, count, sizeof(int64_t), compare_int64);
    Buffer *out = parser->out;
    if (put_byte(out, '[') != 0) return NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            if (numbers[i] == numbers[i - 1]) continue;
            if (put_byte(out, ',') != 0) return NO_MEMORY;
        }
        char text[24];
        int length = snprintf(text, sizeof text, "%lld", (long long)numbers[i]);
        if (put(out, text, (size_t)length) != 0) return NO_MEMORY;
    }
    return put_byte(out, ']');
}

static int literal(Parser *parser, const char *word) {
    size_t length = strlen(word);
    skip_space(parser);
    if ((size_t)(parser->end - parser->p) < length || memcmp(parser->p, word, length) != 0) {
        return FAIL;
    }
    parser->p += length;
    return 0;
}

/* One typed value {"<tag>": ...} with exactly one tag. */
static int write_value(Parser *parser) {
    const uchar *tag;
    size_t tag_length;
    int status;
    Buffer *out = parser->out;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &tag, &tag_length) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    skip_space(parser);
    if (tag_length == 1 && tag[0] == 'S') {
        status = read_string(parser, NULL, out);
    } else if (tag_length == 1 && tag[0] == 'N') {
        const uchar *text;
        size_t length;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        if (!plain_json_number(text, length)) return FAIL;
        status = put(out, text, length);
    } else if (tag_length == 1 && tag[0] == 'M') {
        if (expect(parser, '{') != 0) return FAIL;
        status = write_map(parser);
    } else if (tag_length == 1 && tag[0] == 'L') {
        if (expect(parser, '[') != 0) return FAIL;
        status = write_list(parser);
    } else if (tag_length == 4 && memcmp(tag, "BOOL", 4) == 0) {
        if (literal(parser, "true") == 0) {
            status = put(out, "true", 4);
        } else if (literal(parser, "false") == 0) {
            status = put(out, "false", 5);
        } else {
            return FAIL;
        }
    } else if (tag_length == 4 && memcmp(tag, "NULL", 4) == 0) {
        if (literal(parser, "true") != 0 && literal(parser, "false") != 0) return FAIL;
        status = put(out, "null", 4);
    } else if (tag_length == 1 && tag[0] == 'B') {
        const uchar *text;
        size_t length;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        if (!canonical_base64(text, length)) return FAIL;
        if ((status = put_byte(out, '"')) != 0) return status;
        if ((status = put(out, text, length)) != 0) return status;
        status = put_byte(out, '"');
    } else if (tag_length == 2 && tag[0] == 'S' && tag[1] == 'S') {
        status = write_string_set(parser);
    } else if (tag_length == 2 && tag[0] == 'N' && tag[1] == 'S') {
        status = write_number_set(parser);
    } else {
        return FAIL; /* BS, and anything that is not a DynamoDB type */
    }
    if (status != 0) return status;
    return expect(parser, '}');
}

/* One line: {"Item": {...}} and nothing else. 0 = written, FAIL = Python's, NO_MEMORY. */
static int write_line(Parser *parser) {
    if (open_record(parser) != 0) return FAIL;
    int status = write_map(parser);
    if (status != 0) return status;
    if (expect(parser, '}') != 0) return FAIL;
    skip_space(parser);
    if (parser->p != parser->end) return FAIL;
    return put_byte(parser->out, '\n');
}

/* ------------------------------------------------------------------------------- module */

PyDoc_STRVAR(transcode_doc,
             "transcode(chunk: bytes) -> tuple[bytes, int, list[tuple[int, int, int, int]]]"
             "\n\nThe plain JSON lines of a chunk of whole DynamoDB-JSON lines (split at b'\\n').\n"
             "Returns (lines, items written, handed back): each handed-back line is (offset in\n"
             "lines where its output belongs, its index in the chunk, start, stop).");

static PyObject *transcode(PyObject *module, PyObject *argument) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) != 0) return NULL;
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    Buffer out = {0};
    Buffer scratch = {0};
    Buffer handbacks = {0};
    size_t items = 0;
    int failed = 0;

    Py_BEGIN_ALLOW_THREADS
    if (reserve(&out, size + size / 8 + 64) != 0) failed = 1;
    Lines lines = {.data = data, .size = size};
    while (!failed && next_line(&lines)) {
        size_t mark = out.len;
        Parser parser = {data + lines.start, data + lines.stop, &out, &scratch, 0};
        int status = write_line(&parser);
        if (status == 0) {
            items++;
        } else if (status == NO_MEMORY) {
            failed = 1;
        } else {
            out.len = mark;
            if (add_handback(&handbacks, mark, &lines) != 0) failed = 1;
        }
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&view);
    free(scratch.data);
    PyObject *result = NULL;
    if (failed) {
        PyErr_NoMemory();
        goto cleanup;
    }
    PyObject *written = PyBytes_FromStringAndSize((const char *)out.data, (Py_ssize_t)out.len);
    if (written == NULL) goto cleanup;
    PyObject *handed = handed_back_list(&handbacks);
    if (handed == NULL) {
        Py_DECREF(written);
        goto cleanup;
    }
    result = Py_BuildValue("(NnN)", written, (Py_ssize_t)items, handed);
cleanup:
    free(out.data);
    free(handbacks.data);
    return result;
}
