/* The usage page's render example through the C ABI, and an error case.
 *
 *   make && make run        (builds against ../../target/release, see Makefile)
 *
 * Prints the rendered text, then the JavaScript error of a bad call, with its code,
 * script name, line and trace. Exits non-zero if either is not what it should be. */
#include <stdio.h>
#include <string.h>

#include <v8rs.h>

/* Prints an error's code and trace, then frees it. */
static void report(const char *what, v8rs_code code, v8rs_error *err) {
    size_t len = 0;
    const char *message = v8rs_error_message(err, &len);
    const char *script = v8rs_error_script_name(err, &len);
    printf("%s failed (code %d) at %s:%lld\n%s\n", what, (int)code, script ? script : "?",
           (long long)v8rs_error_line(err), message);
    v8rs_error_free(err);
}

int main(int argc, char **argv) {
    const char *bundle = argc > 1 ? argv[1] : "../foo_bundled.js";
    v8rs_error *err = NULL;
    v8rs_vm *vm = NULL;
    v8rs_context *ctx = NULL;
    int ok = 1;

    v8rs_code code = v8rs_platform_set_up(NULL, 0, &err);
    if (code == V8RS_CODE_OK) code = v8rs_vm_new(NULL, &vm, &err);
    if (code == V8RS_CODE_OK) code = v8rs_context_new(vm, &ctx, &err);
    if (code == V8RS_CODE_OK) code = v8rs_load_libs(ctx, &bundle, 1, &err);
    if (code != V8RS_CODE_OK) {
        report("set-up", code, err);
        return 1;
    }

    /* The render call of the usage page. */
    const char *script = "foo.render(\"hola mundo\");";
    char *result = NULL;
    size_t result_len = 0;
    code = v8rs_run_script(ctx, script, strlen(script), NULL, 0, 0, &result, &result_len, &err);
    if (code == V8RS_CODE_OK) {
        printf("%.*s\n", (int)result_len, result);
        ok &= result_len == 10 && memcmp(result, "hola mundo", 10) == 0;
        v8rs_string_free(result);
    } else {
        report("render", code, err);
        ok = 0;
    }

    /* An error case: a function that does not exist, in a named script. */
    const char *bad = "foo.missing(\"hola\");";
    code = v8rs_run_script(ctx, bad, strlen(bad), "bad.js", 6, 0, &result, &result_len, &err);
    if (code == V8RS_CODE_JS_ERROR) {
        size_t len = 0;
        const char *name = v8rs_error_js_name(err, &len);
        ok &= name != NULL && strcmp(name, "TypeError") == 0 && v8rs_error_line(err) == 1;
        report("bad.js", code, err);
    } else {
        ok = 0;
    }

    v8rs_context_free(ctx);
    v8rs_vm_free(vm);
    v8rs_platform_tear_down(NULL);
    return ok ? 0 : 1;
}
