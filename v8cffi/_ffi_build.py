"""The cffi declarations of the C ABI, and the generator of ``_ffi.py``.

``_ffi.py`` is cffi's out-of-line ABI-mode module built from ``CDEF``: importing it
costs about a millisecond, where parsing ``CDEF`` at import time (pycparser included)
costs about 60. It is committed; regenerate it after changing ``CDEF``::

    python v8cffi/_ffi_build.py

Tests check that ``CDEF`` matches ``include/v8rs.h`` and that ``_ffi.py`` matches
``CDEF``.
"""

from __future__ import annotations

import os
import sys

#: The declarations of ``include/v8rs.h``.
CDEF = """
typedef enum {
  V8RS_CODE_OK = 0,
  V8RS_CODE_JS_ERROR = 1,
  V8RS_CODE_OUT_OF_MEMORY = 2,
  V8RS_CODE_INVALID_ARGUMENT = 3,
  V8RS_CODE_INVALID_STATE = 4,
  V8RS_CODE_IO_ERROR = 5,
  V8RS_CODE_UNKNOWN = 6,
  V8RS_CODE_TERMINATED = 7,
  V8RS_CODE_TIMEOUT = 8,
  V8RS_CODE_CONVERSION = 9,
} v8rs_code;

typedef struct v8rs_cancel_token v8rs_cancel_token;
typedef struct v8rs_context v8rs_context;
typedef struct v8rs_error v8rs_error;
typedef struct v8rs_vm v8rs_vm;
typedef struct v8rs_reply v8rs_reply;
typedef void (*v8rs_host_fn)(void *data, const char *args, size_t args_len, v8rs_reply *reply);

typedef struct {
  size_t initial_heap_size;
  size_t max_heap_size;
} v8rs_vm_options;

typedef struct {
  size_t total_heap_size;
  size_t total_heap_size_executable;
  size_t total_physical_size;
  size_t total_available_size;
  size_t used_heap_size;
  size_t heap_size_limit;
  size_t malloced_memory;
  size_t peak_malloced_memory;
  size_t external_memory;
  size_t number_of_native_contexts;
  size_t number_of_detached_contexts;
} v8rs_heap_stats;

const char *v8rs_version(void);
v8rs_code v8rs_platform_set_up(const char *flags, size_t flags_len, v8rs_error **error_out);
v8rs_code v8rs_platform_tear_down(v8rs_error **error_out);
bool v8rs_platform_is_alive(void);
v8rs_code v8rs_platform_watch_sigint(v8rs_error **error_out);
v8rs_code v8rs_vm_new(const v8rs_vm_options *options, v8rs_vm **vm_out, v8rs_error **error_out);
v8rs_code v8rs_vm_new_from_snapshot(const v8rs_vm_options *options,
                                    const char *snapshot,
                                    size_t snapshot_len,
                                    v8rs_vm **vm_out,
                                    v8rs_error **error_out);
v8rs_code v8rs_snapshot_create(const char *const *names,
                               const size_t *name_lens,
                               const char *const *sources,
                               const size_t *source_lens,
                               size_t n,
                               char **snapshot_out,
                               size_t *snapshot_len_out,
                               v8rs_error **error_out);
v8rs_code v8rs_vm_terminate(v8rs_vm *vm, bool *stopped_out, v8rs_error **error_out);
v8rs_code v8rs_vm_heap_stats(v8rs_vm *vm, v8rs_heap_stats *stats_out, v8rs_error **error_out);
v8rs_code v8rs_vm_low_memory_notification(v8rs_vm *vm, v8rs_error **error_out);
void v8rs_vm_free(v8rs_vm *vm);
v8rs_code v8rs_context_new(v8rs_vm *vm, v8rs_context **context_out, v8rs_error **error_out);
v8rs_code v8rs_context_new_with(v8rs_vm *vm,
                                uint32_t features,
                                v8rs_context **context_out,
                                v8rs_error **error_out);
v8rs_code v8rs_context_run_until_idle(v8rs_context *context,
                                      uint64_t timeout_ms,
                                      v8rs_error **error_out);
size_t v8rs_context_pending_tasks(const v8rs_context *context);
v8rs_cancel_token *v8rs_cancel_token_new(void);
void v8rs_cancel_token_enter(v8rs_cancel_token *token);
bool v8rs_cancel_token_cancel(v8rs_cancel_token *token);
void v8rs_cancel_token_free(v8rs_cancel_token *token);
void v8rs_context_free(v8rs_context *context);
v8rs_code v8rs_run_script(v8rs_context *context,
                          const char *script,
                          size_t script_len,
                          const char *identifier,
                          size_t identifier_len,
                          uint64_t timeout_ms,
                          char **result_out,
                          size_t *result_len_out,
                          v8rs_error **error_out);
v8rs_code v8rs_run_script_into(v8rs_context *context,
                               const char *script,
                               size_t script_len,
                               const char *identifier,
                               size_t identifier_len,
                               uint64_t timeout_ms,
                               char *buffer,
                               size_t capacity,
                               size_t *result_len_out,
                               char **spill_out,
                               v8rs_error **error_out);
v8rs_code v8rs_eval(v8rs_context *context,
                    const char *script,
                    size_t script_len,
                    const char *identifier,
                    size_t identifier_len,
                    uint64_t timeout_ms,
                    uint32_t flags,
                    char **value_out,
                    size_t *value_len_out,
                    v8rs_error **error_out);
v8rs_code v8rs_call(v8rs_context *context,
                    const char *function,
                    size_t function_len,
                    const char *args,
                    size_t args_len,
                    uint64_t timeout_ms,
                    uint32_t flags,
                    char **value_out,
                    size_t *value_len_out,
                    v8rs_error **error_out);
v8rs_code v8rs_context_expose(v8rs_context *context,
                              const char *name,
                              size_t name_len,
                              void (*function)(void*, const char*, size_t, v8rs_reply*),
                              void *data,
                              v8rs_error **error_out);
v8rs_code v8rs_run_module(v8rs_context *context,
                          const char *source,
                          size_t source_len,
                          const char *identifier,
                          size_t identifier_len,
                          void (*resolver)(void*, const char*, size_t, const char*, size_t, v8rs_reply*),
                          void *data,
                          const char *global_name,
                          size_t global_name_len,
                          uint64_t timeout_ms,
                          uint32_t flags,
                          char **value_out,
                          size_t *value_len_out,
                          v8rs_error **error_out);
void v8rs_reply_module(v8rs_reply *reply,
                       const char *name,
                       size_t name_len,
                       const char *source,
                       size_t source_len);
void v8rs_reply_value(v8rs_reply *reply, const char *value, size_t value_len);
void v8rs_reply_error(v8rs_reply *reply, const char *message, size_t message_len);
v8rs_code v8rs_load_libs(v8rs_context *context,
                         const char *const *paths,
                         size_t n,
                         v8rs_error **error_out);
v8rs_code v8rs_load_libs_cached(v8rs_context *context,
                                const char *const *paths,
                                size_t n,
                                const char *cache_dir,
                                v8rs_error **error_out);
void v8rs_code_cache_stats(uint64_t *hits_out, uint64_t *misses_out, uint64_t *rejected_out);
void v8rs_string_free(char *string);
void v8rs_error_free(v8rs_error *error);
v8rs_code v8rs_error_code(const v8rs_error *error);
const char *v8rs_error_message(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_js_name(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_js_message(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_script_name(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_source_line(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_stack(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_path(const v8rs_error *error, size_t *len_out);
int64_t v8rs_error_line(const v8rs_error *error);
int64_t v8rs_error_start_column(const v8rs_error *error);
int64_t v8rs_error_end_column(const v8rs_error *error);
int32_t v8rs_error_os_errno(const v8rs_error *error);
size_t v8rs_live_vm_count(void);
size_t v8rs_live_context_count(void);
"""


def builder() -> object:
    """A cffi ``FFI`` set up to emit ``v8cffi._ffi``."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source("v8cffi._ffi", None)
    return ffi


def generate(path: str) -> None:
    """Writes the out-of-line ABI module to ``path``."""
    builder().emit_python_code(path)  # type: ignore[attr-defined]


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "_ffi.py")
    generate(target)
    print(f"wrote {target}")
