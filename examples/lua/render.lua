-- The usage page's render example through the C ABI from LuaJIT's ffi, and an error case.
--
--   luajit render.lua [path/to/libv8rs.so] [path/to/foo_bundled.js]
--
-- The library defaults to ../../target/release/libv8rs.so (cargo build --release).
local ffi = require("ffi")

ffi.cdef([[
typedef enum { V8RS_CODE_OK = 0, V8RS_CODE_JS_ERROR = 1 } v8rs_code;
typedef struct v8rs_vm v8rs_vm;
typedef struct v8rs_context v8rs_context;
typedef struct v8rs_error v8rs_error;
typedef struct v8rs_vm_options v8rs_vm_options;
v8rs_code v8rs_platform_set_up(const char *flags, size_t flags_len, v8rs_error **error_out);
v8rs_code v8rs_platform_tear_down(v8rs_error **error_out);
v8rs_code v8rs_vm_new(const v8rs_vm_options *options, v8rs_vm **vm_out, v8rs_error **error_out);
void v8rs_vm_free(v8rs_vm *vm);
v8rs_code v8rs_context_new(v8rs_vm *vm, v8rs_context **context_out, v8rs_error **error_out);
void v8rs_context_free(v8rs_context *context);
v8rs_code v8rs_load_libs(v8rs_context *context, const char *const *paths, size_t n, v8rs_error **error_out);
v8rs_code v8rs_run_script(v8rs_context *context, const char *script, size_t script_len,
                          const char *identifier, size_t identifier_len, uint64_t timeout_ms,
                          char **result_out, size_t *result_len_out, v8rs_error **error_out);
void v8rs_string_free(char *string);
void v8rs_error_free(v8rs_error *error);
const char *v8rs_error_message(const v8rs_error *error, size_t *len_out);
const char *v8rs_error_js_name(const v8rs_error *error, size_t *len_out);
int64_t v8rs_error_line(const v8rs_error *error);
]])

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local v8rs = ffi.load(arg[1] or (here .. "../../target/release/libv8rs.so"))
local bundle = arg[2] or (here .. "../foo_bundled.js")

-- Turns a failed call into a Lua error carrying the library's message; frees the error.
local function check(code, err)
  if code ~= v8rs.V8RS_CODE_OK then
    local message = ffi.string(v8rs.v8rs_error_message(err[0], nil))
    v8rs.v8rs_error_free(err[0])
    error(message, 2)
  end
end

local err = ffi.new("v8rs_error *[1]")
check(v8rs.v8rs_platform_set_up(nil, 0, err), err)
local vm_out = ffi.new("v8rs_vm *[1]")
check(v8rs.v8rs_vm_new(nil, vm_out, err), err)
local vm = ffi.gc(vm_out[0], v8rs.v8rs_vm_free)
local ctx_out = ffi.new("v8rs_context *[1]")
check(v8rs.v8rs_context_new(vm, ctx_out, err), err)
local ctx = ffi.gc(ctx_out[0], v8rs.v8rs_context_free)
local paths = ffi.new("const char *[1]", { bundle })
check(v8rs.v8rs_load_libs(ctx, paths, 1, err), err)

-- Runs `script` named `name`; returns its result as a Lua string (or raises).
local function run_script(script, name)
  local out, out_len = ffi.new("char *[1]"), ffi.new("size_t[1]")
  check(v8rs.v8rs_run_script(ctx, script, #script, name, name and #name or 0, 0, out, out_len, err), err)
  local result = ffi.string(out[0], out_len[0])
  v8rs.v8rs_string_free(out[0])
  return result
end

local rendered = run_script('foo.render("hola mundo");')
print(rendered)
assert(rendered == "hola mundo")

-- The error case: a JavaScript TypeError comes back as a Lua error with its trace.
local ok, message = pcall(run_script, 'foo.missing("hola");', "bad.js")
print(message)
assert(not ok and message:find("TypeError: foo.missing is not a function", 1, true))
assert(message:find("bad.js:1", 1, true))

ctx, vm = nil, nil
collectgarbage()
collectgarbage()
check(v8rs.v8rs_platform_tear_down(err), err)
print("luajit: ok")
