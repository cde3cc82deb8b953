// Node-API bindings: each function takes typed arrays (the tensors' own storage, no copies) and
// plain numbers, checks sizes, and runs a kernel of kernels.h. Outputs are allocated by the
// caller in JavaScript, so every tensor is an ordinary ArrayBuffer (Electron's V8 sandbox forbids
// external buffers) and the only ceiling is the host's RAM.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "blas.h"
#include "kernels.h"
#include "noise.h"
#include "pool.h"

namespace {

using ws::Shape;

struct View {
  uint8_t* data;
  size_t bytes;
};

View view(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a typed array");
  auto t = v.As<Napi::TypedArray>();
  auto* base = static_cast<uint8_t*>(t.ArrayBuffer().Data());
  return {base + t.ByteOffset(), t.ByteLength()};
}

template <typename T>
T* data(const Napi::Value& v, const char* what, size_t count) {
  View w = view(v, what);
  if (w.bytes < count * sizeof(T))
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": typed array too small for the shape");
  return reinterpret_cast<T*>(w.data);
}

Shape shape(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array");
  auto a = v.As<Napi::Array>();
  Shape s(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) s[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return s;
}

int64_t size_of(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

int64_t i64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
double f64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("blas", ws::blas_name());
  o.Set("blasThreads", ws::blas_threads());
  o.Set("threads", ws::pool_threads());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int n = int(i64(info, 0));
  ws::set_pool_threads(n);
  ws::set_blas_threads(n);
  return info.Env().Undefined();
}

// matmul(a, b, out, batchA, batchB, m, n, k, transposeA, transposeB)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  const int64_t ba = i64(info, 3), bb = i64(info, 4), m = i64(info, 5), n = i64(info, 6), k = i64(info, 7);
  const int64_t batch = ba > bb ? ba : bb;
  ws::batch_matmul(data<float>(info[0], "a", size_t(ba * m * k)), data<float>(info[1], "b", size_t(bb * k * n)),
                   data<float>(info[2], "out", size_t(batch * m * n)), ba, bb, m, n, k,
                   info[8].ToBoolean(), info[9].ToBoolean());
  return info.Env().Undefined();
}

// binary(op, a, aShape, b, bShape, out, outShape): shapes aligned to the output's rank.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const Shape as = shape(info[2], "aShape"), bs = shape(info[4], "bShape"), os = shape(info[6], "outShape");
  if (as.size() != os.size() || bs.size() != os.size())
    throw Napi::RangeError::New(info.Env(), "binary: shapes must have the output's rank");
  ws::binary(static_cast<ws::Binary>(i64(info, 0)), data<float>(info[1], "a", size_t(size_of(as))), as,
             data<float>(info[3], "b", size_t(size_of(bs))), bs,
             data<float>(info[5], "out", size_t(size_of(os))), os);
  return info.Env().Undefined();
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const size_t n = view(info[1], "x").bytes / 4;
  ws::unary(static_cast<ws::Unary>(i64(info, 0)), data<float>(info[1], "x", n),
            data<float>(info[2], "out", n), n, float(f64(info, 3)));
  return info.Env().Undefined();
}

// reduce(op, x, out, outer, reduce, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int64_t outer = i64(info, 3), r = i64(info, 4), inner = i64(info, 5);
  ws::reduce(static_cast<ws::Reduce>(i64(info, 0)), data<float>(info[1], "x", size_t(outer * r * inner)),
             data<float>(info[2], "out", size_t(outer * inner)), outer, r, inner);
  return info.Env().Undefined();
}

// softmax(x, out, rows, cols, log)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const int64_t rows = i64(info, 2), cols = i64(info, 3);
  ws::softmax(data<float>(info[0], "x", size_t(rows * cols)), data<float>(info[1], "out", size_t(rows * cols)),
              rows, cols, info[4].ToBoolean());
  return info.Env().Undefined();
}

// transpose(x, out, shape, perm)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const Shape s = shape(info[2], "shape"), p = shape(info[3], "perm");
  const size_t n = size_t(size_of(s));
  std::vector<int> perm(p.begin(), p.end());
  ws::transpose(data<uint32_t>(info[0], "x", n), data<uint32_t>(info[1], "out", n), s, perm);
  return info.Env().Undefined();
}

// gather(x, indices, out, outer, axis, inner, count) -> position of a bad index or -1
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const int64_t outer = i64(info, 3), axis = i64(info, 4), inner = i64(info, 5), count = i64(info, 6);
  const int64_t bad = ws::gather(data<uint32_t>(info[0], "x", size_t(outer * axis * inner)),
                                 data<int32_t>(info[1], "indices", size_t(count)),
                                 data<uint32_t>(info[2], "out", size_t(outer * count * inner)), outer,
                                 axis, inner, count);
  return Napi::Number::New(info.Env(), double(bad));
}

// segmentSum(x, ids, out, rows, inner, segments) -> position of a bad id or -1; out pre-zeroed
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const int64_t rows = i64(info, 3), inner = i64(info, 4), segments = i64(info, 5);
  const int64_t bad = ws::segment_sum(data<float>(info[0], "x", size_t(rows * inner)),
                                      data<int32_t>(info[1], "ids", size_t(rows)),
                                      data<float>(info[2], "out", size_t(segments * inner)), rows,
                                      inner, segments);
  return Napi::Number::New(info.Env(), double(bad));
}

// slice(x, shape, begin, size, out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  const Shape s = shape(info[1], "shape"), b = shape(info[2], "begin"), z = shape(info[3], "size");
  if (b.size() != s.size() || z.size() != s.size())
    throw Napi::RangeError::New(info.Env(), "slice: begin and size must have the input's rank");
  for (size_t i = 0; i < s.size(); ++i)
    if (b[i] < 0 || z[i] < 0 || b[i] + z[i] > s[i])
      throw Napi::RangeError::New(info.Env(), "slice: out of bounds");
  ws::slice(data<uint32_t>(info[0], "x", size_t(size_of(s))), s, b, z,
            data<uint32_t>(info[4], "out", size_t(size_of(z))));
  return info.Env().Undefined();
}

// padInto(x, shape, before, out, outShape): out already holds the constant
Napi::Value PadInto(const Napi::CallbackInfo& info) {
  const Shape s = shape(info[1], "shape"), b = shape(info[2], "before"), o = shape(info[4], "outShape");
  if (b.size() != s.size() || o.size() != s.size())
    throw Napi::RangeError::New(info.Env(), "padInto: before and outShape must have the input's rank");
  for (size_t i = 0; i < s.size(); ++i)
    if (b[i] < 0 || b[i] + s[i] > o[i]) throw Napi::RangeError::New(info.Env(), "padInto: out of bounds");
  ws::pad_into(data<uint32_t>(info[0], "x", size_t(size_of(s))), s, b,
               data<uint32_t>(info[3], "out", size_t(size_of(o))), o);
  return info.Env().Undefined();
}

// noiseAxpy(out, x | null, a, b, key, transform): out = a·x + b·T(z), threads over even ranges
Napi::Value NoiseAxpy(const Napi::CallbackInfo& info) {
  const size_t n = view(info[0], "out").bytes / 4;
  float* out = data<float>(info[0], "out", n);
  const float* x = info[1].IsNull() || info[1].IsUndefined() ? nullptr : data<float>(info[1], "x", n);
  const float a = float(f64(info, 2)), b = float(f64(info, 3));
  const uint32_t key = uint32_t(i64(info, 4));
  const int transform = int(i64(info, 5));
  ws::parallel_for(n, 1 << 15, [&](size_t lo, size_t hi) {
    whetstone::noise_axpy_range(out, x, a, b, key, transform, n, lo, hi);
  }, 2);
  return info.Env().Undefined();
}

// axpby(x, a, y, b, out)
Napi::Value Axpby(const Napi::CallbackInfo& info) {
  const size_t n = view(info[0], "x").bytes / 4;
  ws::axpby(data<float>(info[0], "x", n), float(f64(info, 1)), data<float>(info[2], "y", n),
            float(f64(info, 3)), data<float>(info[4], "out", n), n);
  return info.Env().Undefined();
}

// sumSquares(x) -> Σ x²
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  const size_t n = view(info[0], "x").bytes / 4;
  return Napi::Number::New(info.Env(), ws::sum_squares(data<float>(info[0], "x", n), n));
}

// adamStep(x, m, v, out, decay, scale, vScale, eps)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const size_t n = view(info[0], "x").bytes / 4;
  ws::adam_step(data<float>(info[0], "x", n), data<float>(info[1], "m", n), data<float>(info[2], "v", n),
                data<float>(info[3], "out", n), n, f64(info, 4), f64(info, 5), f64(info, 6), f64(info, 7));
  return info.Env().Undefined();
}

// nf4Dequantize(codes, absmaxCodes, absmaxScales, nf4Code, dynamicCode, out, nf4Block, absmaxBlock)
Napi::Value Nf4Dequantize(const Napi::CallbackInfo& info) {
  const size_t n = view(info[5], "out").bytes / 4;
  const int64_t nf4_block = i64(info, 6), absmax_block = i64(info, 7);
  const size_t blocks = (n + size_t(nf4_block) - 1) / size_t(nf4_block);
  const size_t scales = view(info[2], "absmaxScales").bytes / 4;
  if (scales < 1 || (blocks + size_t(absmax_block) - 1) / size_t(absmax_block) > scales - 1)
    throw Napi::RangeError::New(info.Env(), "nf4Dequantize: too few absmax scales");
  ws::nf4_dequantize(data<uint8_t>(info[0], "codes", (n + 1) / 2), data<uint8_t>(info[1], "absmaxCodes", blocks),
                     data<float>(info[2], "absmaxScales", scales), int64_t(scales - 1),
                     data<float>(info[3], "nf4Code", 16), data<float>(info[4], "dynamicCode", 256),
                     data<float>(info[5], "out", n), n, nf4_block, absmax_block);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("padInto", Napi::Function::New(env, PadInto));
  exports.Set("noiseAxpy", Napi::Function::New(env, NoiseAxpy));
  exports.Set("axpby", Napi::Function::New(env, Axpby));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep));
  exports.Set("nf4Dequantize", Napi::Function::New(env, Nf4Dequantize));
  return exports;
}

}  // namespace

NODE_API_MODULE(whetstone_native, Init)
