/*
 * DynamoDB JSON lines of a FULL export ({"Item": {...}}) to plain JSON lines, byte for byte what
 * ddbexport.data.convert.values.json_safe_item + orjson.dumps write, without building a Python
 * object per value.
 *
 * The common shapes are converted here: S, N written as a JSON number without an exponent, M,
 * L, BOOL, NULL, canonical base64 B, SS, and NS of integers. Any line holding something else
 * (an exponent, a number set with fractions, a binary set, odd base64, a surrogate escape,
 * invalid UTF-8, deep nesting, anything that is not a record) is handed back untouched so that
 * the Python converter writes it, or raises its usual error, with its line number. So the
 * output never depends on which path wrote a line.
 *
 * For Parquet, survey() and columns() do the same for the Python writer's two passes (see
 * _dynamojson/parquet_shared.h). The work runs without the GIL: threads convert chunks side by
 * side. The parts live in
 * _dynamojson/ and are included below, in order, as one translation unit (hatch_build.py
 * compiles this file alone).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "_dynamojson/text.h"
#include "_dynamojson/lines.h"
#include "_dynamojson/jsonl.h"
#include "_dynamojson/parquet_shared.h"
#include "_dynamojson/survey.h"
#include "_dynamojson/columns.h"

static PyMethodDef methods[] = {
    {"transcode", transcode, METH_O, transcode_doc},
    {"survey", survey, METH_O, survey_doc},
    {"columns", columns, METH_VARARGS, columns_doc},
    {"count_lines", count_lines, METH_O, count_lines_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "_dynamojson",
    "DynamoDB JSON lines to plain JSON lines (transcode) and Arrow columns (survey, columns).",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__dynamojson(void) {
    init_escapes();
    if (PyType_Ready(&OwnedBufferType) != 0) return NULL;
    return PyModule_Create(&module_definition);
}
