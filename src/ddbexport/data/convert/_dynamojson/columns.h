/* Parquet, then: columns() builds the Arrow buffers of a chunk for a column plan; count_lines().
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

/* ==================================================================== Parquet: columns */

/* How a column is built (the plan's codes; see parquet_native.py). */
enum {
    C_NULLS,       /* only NULL seen: every row null */
    C_STRING,      /* S */
    C_INT64,       /* N, integers fitting int64 */
    C_DECIMAL,     /* N, decimal128(38, scale) */
    C_BOOL,        /* BOOL */
    C_BINARY,      /* B */
    C_JSON,        /* several types, M, L: each value's plain JSON */
    C_STRINGS,     /* SS: list<string>, sorted, no repeats */
    C_INT64S,      /* NS: list<int64>, sorted by value, no repeats */
    C_DECIMALS,    /* NS: list<decimal128(38, scale)> */
    C_BINARIES,    /* BS: list<binary>, sorted by bytes, no repeats */
    C_NUMBER_TEXT, /* N kept as text: the export's text, for Python to make canonical */
    C_NUMBER_TEXTS, /* NS kept as text: the export's texts, unsorted, for Python */
    C_CODES
};

static const int CODE_KIND[C_CODES] = {K_NULL, K_S, K_N, K_N, K_BOOL, K_B, K_NONE,
                                       K_SS,   K_NS, K_NS, K_BS,  K_N,  K_NS};

typedef struct {
    int code;
    long scale;
    long stamp;          /* the last row given a value */
    size_t rows;
    size_t nulls;
    Buffer validity;     /* a bit per row */
    Buffer offsets;      /* int32: strings, binary, JSON; lists' element offsets */
    Buffer data;         /* bytes, int64, int128 or bits */
    Buffer child_offsets; /* int32: the strings or binary of lists */
    Buffer child_data;
    size_t children;     /* elements of lists */
    long next;           /* the column named after it last time, a guess; -1 = none */
} Builder;

static void builder_free(Builder *builder) {
    free(builder->validity.data);
    free(builder->offsets.data);
    free(builder->data.data);
    free(builder->child_offsets.data);
    free(builder->child_data.data);
}

static int put_bit(Buffer *bits, size_t index, int set) {
    if (index % 8 == 0 && put_byte(bits, 0) != 0) return NO_MEMORY;
    if (set) bits->data[index / 8] |= (uchar)(1u << (index % 8));
    return 0;
}

static int put_offset(Buffer *offsets, size_t value) {
    if (value > INT32_MAX) return FAIL;
    int32_t offset = (int32_t)value;
    return put(offsets, &offset, sizeof offset);
}

static int is_list(int code) {
    return code == C_STRINGS || code == C_INT64S || code == C_DECIMALS || code == C_BINARIES ||
           code == C_NUMBER_TEXTS;
}

static int has_offsets(int code) {
    return code == C_STRING || code == C_BINARY || code == C_JSON || code == C_NUMBER_TEXT ||
           is_list(code);
}

/* Ends a row: the value (valid) or a null. */
static int end_row(Builder *builder, int valid) {
    if (put_bit(&builder->validity, builder->rows, valid) != 0) return NO_MEMORY;
    if (!valid) {
        builder->nulls++;
        if (builder->code == C_INT64 && put(&builder->data, "\0\0\0\0\0\0\0\0", 8) != 0)
            return NO_MEMORY;
        if (builder->code == C_DECIMAL && reserve(&builder->data, 16) != 0) return NO_MEMORY;
        if (builder->code == C_DECIMAL) {
            memset(builder->data.data + builder->data.len, 0, 16);
            builder->data.len += 16;
        }
        if (builder->code == C_BOOL && put_bit(&builder->data, builder->rows, 0) != 0)
            return NO_MEMORY;
    }
    builder->rows++;
    if (has_offsets(builder->code)) {
        size_t end = is_list(builder->code) ? builder->children : builder->data.len;
        return put_offset(&builder->offsets, end);
    }
    return 0;
}

static int base64_decode(const uchar *text, size_t length, Buffer *out) {
    if (!canonical_base64(text, length)) return FAIL;
    if (reserve(out, length / 4 * 3) != 0) return NO_MEMORY;
    uchar *target = out->data + out->len;
    size_t written = 0;
    for (size_t i = 0; i < length; i += 4) {
        int a = base64_value(text[i]);
        int b = base64_value(text[i + 1]);
        int c = text[i + 2] == '=' ? 0 : base64_value(text[i + 2]);
        int d = text[i + 3] == '=' ? 0 : base64_value(text[i + 3]);
        uint32_t group = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | (uint32_t)d;
        target[written++] = (uchar)(group >> 16);
        if (text[i + 2] != '=') target[written++] = (uchar)(group >> 8);
        if (text[i + 3] != '=') target[written++] = (uchar)group;
    }
    out->len += written;
    return 0;
}

typedef struct {
    const uchar *bytes;
    size_t length;
} Piece;

static int compare_pieces(const void *left, const void *right) {
    const Piece *a = left;
    const Piece *b = right;
    size_t shorter = a->length < b->length ? a->length : b->length;
    int order = shorter ? memcmp(a->bytes, b->bytes, shorter) : 0;
    if (order != 0) return order;
    return (a->length > b->length) - (a->length < b->length);
}

static int compare_int128(const void *left, const void *right) {
    __int128 a;
    __int128 b;
    memcpy(&a, left, sizeof a);
    memcpy(&b, right, sizeof b);
    return (a > b) - (a < b);
}

/* SS or BS: the members decoded, sorted by bytes, each once, as the list's elements. */
static int build_byte_set(Builder *builder, Parser *parser, Buffer *scratch, Buffer *pieces,
                          int binary) {
    scratch->len = 0;
    pieces->len = 0;
    int more = open_array(parser);
    if (more < 0) return FAIL;
    while (more > 0) {
        Span span = {scratch->len, 0};
        int status;
        skip_space(parser);
        if (binary) {
            const uchar *text;
            size_t length;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = base64_decode(text, length, scratch);
        } else {
            status = read_string(parser, scratch, NULL);
        }
        if (status != 0) return status;
        span.length = scratch->len - span.start;
        if (put(pieces, &span, sizeof span) != 0) return NO_MEMORY;
        if ((more = next_member(parser, ']', NULL)) < 0) return FAIL;
    }
    /* The scratch buffer no longer moves: spans become pointers, for qsort. */
    size_t count = pieces->len / sizeof(Span);
    Piece *sorted = (Piece *)pieces->data;
    for (size_t i = 0; i < count; i++) {
        Span span = ((Span *)pieces->data)[i];
        sorted[i] = (Piece){scratch->data + span.start, span.length};
    }
    qsort(sorted, count, sizeof(Piece), compare_pieces);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && compare_pieces(&sorted[i - 1], &sorted[i]) == 0) continue;
        if (put(&builder->child_data, sorted[i].bytes, sorted[i].length) != 0) return NO_MEMORY;
        if (put_offset(&builder->child_offsets, builder->child_data.len) != 0) return FAIL;
        builder->children++;
    }
    return 0;
}

/* NS: the numbers as integers (int64 or unscaled decimals), sorted by value, each once. */
static int build_number_set(Builder *builder, Parser *parser, Buffer *numbers) {
    numbers->len = 0;
    int more = open_array(parser);
    if (more < 0) return FAIL;
    while (more > 0) {
        const uchar *text;
        size_t length;
        __int128 value;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        long scale = builder->code == C_DECIMALS ? builder->scale : 0;
        if (scaled_number(text, length, scale, &value) != 0) return FAIL;
        if (builder->code == C_INT64S &&
            (value < -(__int128)INT64_LIMIT || value >= (__int128)INT64_LIMIT))
            return FAIL;
        if (put(numbers, &value, sizeof value) != 0) return NO_MEMORY;
        if ((more = next_member(parser, ']', NULL)) < 0) return FAIL;
    }
    size_t count = numbers->len / sizeof(__int128);
    qsort(numbers->data, count, sizeof(__int128), compare_int128);
    for (size_t i = 0; i < count; i++) {
        __int128 value;
        memcpy(&value, numbers->data + i * sizeof value, sizeof value);
        if (i > 0 && compare_int128(numbers->data + (i - 1) * sizeof value, &value) == 0) continue;
        int status;
        if (builder->code == C_INT64S) {
            int64_t narrow = (int64_t)value;
            status = put(&builder->child_data, &narrow, sizeof narrow);
        } else {
            status = put(&builder->child_data, &value, sizeof value);
        }
        if (status != 0) return NO_MEMORY;
        builder->children++;
    }
    return 0;
}

typedef struct {
    Buffer scratch;
    Buffer pieces;
} Scratch;

/* One attribute's value into its column (parser at the value's '{'). */
static int build_value(Builder *builder, Parser *parser, Scratch *work) {
    const uchar *value_start;
    const uchar *text;
    size_t length;
    int kind;
    int flag;
    int status;
    skip_space(parser);
    value_start = parser->p;
    if (read_tag(parser, &kind) != 0) return FAIL;
    if (kind == K_NULL) {
        if (read_flag(parser, &flag) != 0) return FAIL;
        if (expect(parser, '}') != 0) return FAIL;
        return end_row(builder, 0);
    }
    int code = builder->code;
    if (code == C_JSON) {
        /* The value's plain JSON, as the JSON lines path writes it. */
        parser->p = value_start;
        parser->out = &builder->data;
        parser->scratch = &work->scratch;
        parser->depth = 0;
        if ((status = write_value(parser)) != 0) return status;
        return end_row(builder, 1);
    }
    if (kind != CODE_KIND[code]) return FAIL; /* the survey saw otherwise: Python looks */
    switch (code) {
        case C_STRING:
            status = read_string(parser, &builder->data, NULL);
            break;
        case C_INT64: {
            int64_t value;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (to_int64(text, length, &value) != 0) return FAIL;
            status = put(&builder->data, &value, sizeof value);
            break;
        }
        case C_DECIMAL: {
            __int128 value;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (scaled_number(text, length, builder->scale, &value) != 0) return FAIL;
            status = put(&builder->data, &value, sizeof value);
            break;
        }
        case C_BOOL:
            if (read_flag(parser, &flag) != 0) return FAIL;
            status = put_bit(&builder->data, builder->rows, flag);
            break;
        case C_BINARY:
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = base64_decode(text, length, &builder->data);
            break;
        case C_NUMBER_TEXT:
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = put(&builder->data, text, length);
            break;
        case C_STRINGS:
        case C_BINARIES:
            status = build_byte_set(builder, parser, &work->scratch, &work->pieces,
                                    code == C_BINARIES);
            break;
        case C_INT64S:
        case C_DECIMALS:
            status = build_number_set(builder, parser, &work->scratch);
            break;
        case C_NUMBER_TEXTS: {
            int more = open_array(parser);
            if (more < 0) return FAIL;
            while (more > 0) {
                if (read_plain_string(parser, &text, &length) != 0) return FAIL;
                if (put(&builder->child_data, text, length) != 0) return NO_MEMORY;
                if (put_offset(&builder->child_offsets, builder->child_data.len) != 0)
                    return FAIL;
                builder->children++;
                if ((more = next_member(parser, ']', NULL)) < 0) return FAIL;
            }
            status = 0;
            break;
        }
        default:
            return FAIL;
    }
    if (status != 0) return status;
    if (expect(parser, '}') != 0) return FAIL;
    return end_row(builder, 1);
}

static int build_line(Builder *builders, size_t count, const NameMap *names, Parser *parser,
                      Scratch *work, long row, long *first) {
    int more = open_item(parser);
    if (more < 0) return FAIL;
    long guess = *first;
    long previous = -1;
    while (more > 0) {
        int status;
        long index;
        if ((status = find_name(parser, names, guess, &work->scratch, &index)) != 0)
            return status;
        if (index < 0) return FAIL; /* not in the plan: Python's */
        if (previous < 0) {
            *first = index;
        } else {
            builders[previous].next = index;
        }
        previous = index;
        guess = builders[index].next;
        Builder *builder = &builders[index];
        if (builder->stamp == row) return FAIL; /* a repeated name */
        builder->stamp = row;
        if (expect(parser, ':') != 0) return FAIL;
        if ((status = build_value(builder, parser, work)) != 0) return status;
        if ((more = next_member(parser, '}', NULL)) < 0) return FAIL;
    }
    if (close_item(parser) != 0) return FAIL;
    for (size_t i = 0; i < count; i++) {
        if (builders[i].stamp != row) {
            int status = end_row(&builders[i], 0);
            if (status != 0) return status;
        }
    }
    return 0;
}

/*
 * A built buffer handed to Python without copying it: an object exposing the memory through
 * the buffer protocol (pyarrow.py_buffer wraps it), freeing it when the last view is gone.
 */
typedef struct {
    PyObject_HEAD
    uchar *data;
    Py_ssize_t length;
} OwnedBuffer;

static int owned_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    OwnedBuffer *owned = (OwnedBuffer *)self;
    return PyBuffer_FillInfo(view, self, owned->data, owned->length, 1, flags);
}

static void owned_dealloc(PyObject *self) {
    free(((OwnedBuffer *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs owned_buffer_procs = {owned_getbuffer, NULL};

static PyTypeObject OwnedBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ddbexport.data.convert._dynamojson.OwnedBuffer",
    .tp_basicsize = sizeof(OwnedBuffer),
    .tp_dealloc = owned_dealloc,
    .tp_as_buffer = &owned_buffer_procs,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory built by columns(), read through the buffer protocol.",
};

/* The buffer's memory as an OwnedBuffer; the Buffer gives it up (even on failure). */
static PyObject *buffer_object(Buffer *buffer) {
    if (buffer->data == NULL && reserve(buffer, 1) != 0) return PyErr_NoMemory();
    OwnedBuffer *owned = PyObject_New(OwnedBuffer, &OwnedBufferType);
    if (owned == NULL) {
        free(buffer->data);
        *buffer = (Buffer){0};
        return NULL;
    }
    owned->data = buffer->data;
    owned->length = (Py_ssize_t)buffer->len;
    *buffer = (Buffer){0};
    return (PyObject *)owned;
}

PyDoc_STRVAR(columns_doc,
             "columns(chunk: bytes, plan: list[tuple[bytes, int, int]]) -> tuple | None\n\n"
             "A chunk of whole DynamoDB-JSON lines as Arrow buffers, one column per plan entry\n"
             "(name as UTF-8, code, scale). Returns (rows, per column (nulls, validity,\n"
             "offsets, data, child offsets, child data, children)), or None when a line is not\n"
             "one this converts exactly (Python converts the chunk).");

static PyObject *columns(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *chunk;
    PyObject *plan;
    if (!PyArg_ParseTuple(args, "OO!", &chunk, &PyList_Type, &plan)) return NULL;
    size_t count = (size_t)PyList_GET_SIZE(plan);
    NameMap names = {0};
    Builder *builders = calloc(count ? count : 1, sizeof(Builder));
    Scratch work = {0};
    PyObject *result = NULL;
    Py_buffer view;
    int have_view = 0;
    if (builders == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const char *name;
        Py_ssize_t length;
        int code;
        long scale;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(plan, (Py_ssize_t)i), "y#il", &name, &length, &code,
                              &scale))
            goto cleanup;
        if (code < 0 || code >= C_CODES) {
            PyErr_SetString(PyExc_ValueError, "unknown column code");
            goto cleanup;
        }
        if (names_find(&names, (const uchar *)name, (size_t)length) >= 0) {
            PyErr_SetString(PyExc_ValueError, "a column is named twice");
            goto cleanup;
        }
        if (names_add(&names, (const uchar *)name, (size_t)length) < 0) {
            PyErr_NoMemory();
            goto cleanup;
        }
        builders[i].code = code;
        builders[i].scale = scale;
        builders[i].stamp = -1;
        builders[i].next = -1;
        if ((has_offsets(code) && put_offset(&builders[i].offsets, 0) != 0) ||
            ((code == C_STRINGS || code == C_BINARIES || code == C_NUMBER_TEXTS) &&
             put_offset(&builders[i].child_offsets, 0) != 0)) {
            PyErr_NoMemory();
            goto cleanup;
        }
    }
    if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) != 0) goto cleanup;
    have_view = 1;
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    int status = 0;
    long rows = 0;
    long first = -1;

    Py_BEGIN_ALLOW_THREADS
    Lines lines = {.data = data, .size = size};
    while (status == 0 && next_line(&lines)) {
        Parser parser = {data + lines.start, data + lines.stop, NULL, NULL, 0};
        status = build_line(builders, count, &names, &parser, &work, rows, &first);
        rows++;
    }
    Py_END_ALLOW_THREADS

    if (status == NO_MEMORY) {
        PyErr_NoMemory();
        goto cleanup;
    }
    if (status != 0) {
        result = Py_NewRef(Py_None);
        goto cleanup;
    }
    PyObject *built = PyList_New((Py_ssize_t)count);
    if (built == NULL) goto cleanup;
    for (size_t i = 0; i < count; i++) {
        Builder *b = &builders[i];
        PyObject *entry = Py_BuildValue("(nNNNNNn)", (Py_ssize_t)b->nulls,
                                        buffer_object(&b->validity), buffer_object(&b->offsets),
                                        buffer_object(&b->data), buffer_object(&b->child_offsets),
                                        buffer_object(&b->child_data), (Py_ssize_t)b->children);
        if (entry == NULL) {
            Py_DECREF(built);
            goto cleanup;
        }
        PyList_SET_ITEM(built, (Py_ssize_t)i, entry);
    }
    result = Py_BuildValue("(lN)", rows, built);
cleanup:
    if (have_view) PyBuffer_Release(&view);
    for (size_t i = 0; builders != NULL && i < count; i++) builder_free(&builders[i]);
    free(builders);
    names_free(&names);
    free(work.scratch.data);
    free(work.pieces.data);
    return result;
}

PyDoc_STRVAR(count_lines_doc,
             "count_lines(chunk: bytes) -> int\n\n"
             "The number of newlines in the chunk (without the GIL).");

static PyObject *count_lines(PyObject *module, PyObject *argument) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) != 0) return NULL;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    const uchar *p = view.buf;
    const uchar *end = p + view.len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(count);
}
