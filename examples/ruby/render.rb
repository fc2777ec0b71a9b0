# The usage page's render example through the C ABI from Ruby's ffi gem, and an error case.
#
#   ruby render.rb [path/to/libv8rs.so] [path/to/foo_bundled.js]
#
# The library defaults to ../../target/release/libv8rs.so (cargo build --release).
require 'ffi'

# The part of include/v8rs.h this example uses.
module V8rs
  extend FFI::Library
  ffi_lib ARGV[0] || File.expand_path('../../target/release/libv8rs.so', __dir__)

  OK = 0
  JS_ERROR = 1

  attach_function :v8rs_platform_set_up, %i[pointer size_t pointer], :int
  attach_function :v8rs_platform_tear_down, [:pointer], :int
  attach_function :v8rs_vm_new, %i[pointer pointer pointer], :int
  attach_function :v8rs_vm_free, [:pointer], :void
  attach_function :v8rs_context_new, %i[pointer pointer pointer], :int
  attach_function :v8rs_context_free, [:pointer], :void
  attach_function :v8rs_load_libs, %i[pointer pointer size_t pointer], :int
  attach_function :v8rs_run_script,
                  %i[pointer pointer size_t pointer size_t uint64 pointer pointer pointer], :int
  attach_function :v8rs_string_free, [:pointer], :void
  attach_function :v8rs_error_free, [:pointer], :void
  attach_function :v8rs_error_message, %i[pointer pointer], :string
  attach_function :v8rs_error_js_name, %i[pointer pointer], :string
  attach_function :v8rs_error_line, [:pointer], :int64

  # A failed call, with the library's message and the JavaScript error's name.
  class Error < StandardError
    attr_reader :code, :js_name, :line

    def initialize(code, error)
      @code = code
      @js_name = V8rs.v8rs_error_js_name(error, nil)
      @line = V8rs.v8rs_error_line(error)
      super(V8rs.v8rs_error_message(error, nil))
    ensure
      V8rs.v8rs_error_free(error)
    end
  end

  # Calls a fallible function with an error out-parameter; raises V8rs::Error on failure.
  def self.check(name, *args)
    error = FFI::MemoryPointer.new(:pointer)
    code = send(name, *args, error)
    raise Error.new(code, error.read_pointer) unless code == OK
  end
end

bundle = ARGV[1] || File.expand_path('../foo_bundled.js', __dir__)
V8rs.check(:v8rs_platform_set_up, nil, 0)
vm_out = FFI::MemoryPointer.new(:pointer)
V8rs.check(:v8rs_vm_new, nil, vm_out)
vm = vm_out.read_pointer
ctx_out = FFI::MemoryPointer.new(:pointer)
V8rs.check(:v8rs_context_new, vm, ctx_out)
ctx = ctx_out.read_pointer
paths = FFI::MemoryPointer.new(:pointer, 1)
paths.write_array_of_pointer([FFI::MemoryPointer.from_string(bundle)])
V8rs.check(:v8rs_load_libs, ctx, paths, 1)

run_script = lambda do |script, name = nil|
  out = FFI::MemoryPointer.new(:pointer)
  out_len = FFI::MemoryPointer.new(:size_t)
  V8rs.check(:v8rs_run_script, ctx, script, script.bytesize, name, name ? name.bytesize : 0, 0, out, out_len)
  result = out.read_pointer.read_string(out_len.read(:size_t)).force_encoding('UTF-8')
  V8rs.v8rs_string_free(out.read_pointer)
  result
end

rendered = run_script.call('foo.render("hola mundo");')
puts rendered
raise 'wrong result' unless rendered == 'hola mundo'

begin
  run_script.call('foo.missing("hola");', 'bad.js')
  raise 'no error'
rescue V8rs::Error => e
  puts e.message
  raise 'wrong error' unless e.code == V8rs::JS_ERROR && e.js_name == 'TypeError' && e.line == 1
end

V8rs.v8rs_context_free(ctx)
V8rs.v8rs_vm_free(vm)
V8rs.check(:v8rs_platform_tear_down)
puts 'ruby: ok'
