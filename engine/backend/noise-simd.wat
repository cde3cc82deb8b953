;; NoiseAxpy for the wasm backend, four pairs (eight elements) per iteration on 128-bit lanes: the
;; float32 steps of noiseAxpyRange in engine/util/counter-rng.ts, in its order and with its
;; constants, so the result is the reference's bit for bit (wasm float ops round as IEEE float32,
;; and the SIMD baseline has no fused multiply-add). It works in place on tfjs-backend-wasm's heap,
;; imported as env.memory: no copies in or out.
;; Regenerate noise-simd-wasm.ts after an edit: node scripts/build-noise-wasm.js
(module
  (import "env" "memory" (memory 1))

  ;; The constants of counter-rng.ts (same names, same decimals), four lanes each.
  (global $LOG_1 v128 (v128.const f32x4 0.666666687 0.666666687 0.666666687 0.666666687))
  (global $LOG_2 v128 (v128.const f32x4 0.400000006 0.400000006 0.400000006 0.400000006))
  (global $LOG_3 v128 (v128.const f32x4 0.285714298 0.285714298 0.285714298 0.285714298))
  (global $LOG_4 v128 (v128.const f32x4 0.222222224 0.222222224 0.222222224 0.222222224))
  (global $LN2 v128 (v128.const f32x4 0.693147182 0.693147182 0.693147182 0.693147182))
  (global $SIN_0 v128 (v128.const f32x4 0.785398185 0.785398185 0.785398185 0.785398185))
  (global $SIN_1 v128 (v128.const f32x4 -0.0807455108 -0.0807455108 -0.0807455108 -0.0807455108))
  (global $SIN_2 v128 (v128.const f32x4 0.00249039452 0.00249039452 0.00249039452 0.00249039452))
  (global $SIN_3 v128
    (v128.const f32x4 -0.0000365762025 -0.0000365762025 -0.0000365762025 -0.0000365762025))
  (global $SIN_4 v128 (v128.const f32x4 3.13361681e-7 3.13361681e-7 3.13361681e-7 3.13361681e-7))
  (global $COS_1 v128 (v128.const f32x4 -0.308425128 -0.308425128 -0.308425128 -0.308425128))
  (global $COS_2 v128 (v128.const f32x4 0.0158543438 0.0158543438 0.0158543438 0.0158543438))
  (global $COS_3 v128
    (v128.const f32x4 -0.000325991889 -0.000325991889 -0.000325991889 -0.000325991889))
  (global $COS_4 v128
    (v128.const f32x4 0.00000359086039 0.00000359086039 0.00000359086039 0.00000359086039))
  (global $COS_5 v128
    (v128.const f32x4 -2.46113689e-8 -2.46113689e-8 -2.46113689e-8 -2.46113689e-8))
  ;; Bit masks and exact powers of two.
  (global $MANTISSA v128 (v128.const i32x4 0x7fffff 0x7fffff 0x7fffff 0x7fffff))
  (global $SQRT_HALF v128 (v128.const i32x4 0x3f3504f3 0x3f3504f3 0x3f3504f3 0x3f3504f3))
  (global $FRACTION v128 (v128.const i32x4 0x1fffff 0x1fffff 0x1fffff 0x1fffff))
  (global $SIGN_BIT v128 (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
  (global $TWO_M24 v128 (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24))
  (global $TWO_M22 v128 (v128.const f32x4 0x1p-22 0x1p-22 0x1p-22 0x1p-22))
  (global $F1 v128 (v128.const f32x4 1 1 1 1))
  (global $I1 v128 (v128.const i32x4 1 1 1 1))
  (global $I2 v128 (v128.const i32x4 2 2 2 2))
  (global $I4 v128 (v128.const i32x4 4 4 4 4))

  ;; out[i] = a·x[i] + b·T(z_i) (b·T(z_i) without x) for `count` elements (a multiple of 8) from
  ;; counter `first` (even); $out and $x are byte addresses of those elements, $x may equal $out.
  ;; $kind picks T: 0 z as drawn, 1 its sign, 2 its square. One straight loop body, no calls:
  ;; Node's V8 does not inline wasm calls, and four-lane values cross a call through memory.
  (func (export "noiseAxpy")
    (param $out i32) (param $x i32) (param $hasX i32) (param $a f32) (param $b f32)
    (param $key i32) (param $kind i32) (param $first i32) (param $count i32)
    (local $end i32) (local $av v128) (local $bv v128) (local $keys v128) (local $c v128)
    (local $h1 v128) (local $h2 v128) (local $ix v128) (local $m v128) (local $s v128)
    (local $s2 v128) (local $r v128) (local $o v128) (local $t v128) (local $t2 v128)
    (local $sn v128) (local $cs v128) (local $swap v128) (local $z0 v128) (local $z1 v128)
    (local $mixA v128) (local $mixB v128)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $av (f32x4.splat (local.get $a)))
    (local.set $bv (f32x4.splat (local.get $b)))
    (local.set $keys (i32x4.splat (local.get $key)))
    (local.set $mixA (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d))
    (local.set $mixB (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b))
    (local.set $c (i32x4.add (i32x4.splat (local.get $first)) (v128.const i32x4 0 2 4 6)))
    (block $done
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (loop $pairs
        ;; h1, h2 = counterBits(c, key), counterBits(c + 1, key): two mix32 rounds each.
        (local.set $h1 (i32x4.add (local.get $c) (local.get $keys)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 16))))
        (local.set $h1 (i32x4.mul (local.get $h1) (local.get $mixA)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 15))))
        (local.set $h1 (i32x4.mul (local.get $h1) (local.get $mixB)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 16))))
        (local.set $h1 (i32x4.add (local.get $h1) (local.get $keys)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 16))))
        (local.set $h1 (i32x4.mul (local.get $h1) (local.get $mixA)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 15))))
        (local.set $h1 (i32x4.mul (local.get $h1) (local.get $mixB)))
        (local.set $h1 (v128.xor (local.get $h1) (i32x4.shr_u (local.get $h1) (i32.const 16))))
        (local.set $h2 (i32x4.add (i32x4.add (local.get $c) (global.get $I1)) (local.get $keys)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 16))))
        (local.set $h2 (i32x4.mul (local.get $h2) (local.get $mixA)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 15))))
        (local.set $h2 (i32x4.mul (local.get $h2) (local.get $mixB)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 16))))
        (local.set $h2 (i32x4.add (local.get $h2) (local.get $keys)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 16))))
        (local.set $h2 (i32x4.mul (local.get $h2) (local.get $mixA)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 15))))
        (local.set $h2 (i32x4.mul (local.get $h2) (local.get $mixB)))
        (local.set $h2 (v128.xor (local.get $h2) (i32x4.shr_u (local.get $h2) (i32.const 16))))
        ;; r = √(−2·ln u), u = (2·(h1 >>> 9) + 1)·2^-24 (exact); u = m·2^e through the exponent
        ;; bits: subtracting √½'s bits leaves e in the exponent field and m's mantissa below it.
        (local.set $ix
          (i32x4.sub
            (f32x4.mul
              (f32x4.convert_i32x4_s
                (v128.or
                  (i32x4.shl (i32x4.shr_u (local.get $h1) (i32.const 9)) (i32.const 1))
                  (global.get $I1)))
              (global.get $TWO_M24))
            (global.get $SQRT_HALF)))
        (local.set $m (i32x4.add (v128.and (local.get $ix) (global.get $MANTISSA)) (global.get $SQRT_HALF)))
        (local.set $s
          (f32x4.div (f32x4.sub (local.get $m) (global.get $F1)) (f32x4.add (local.get $m) (global.get $F1))))
        (local.set $s2 (f32x4.mul (local.get $s) (local.get $s)))
        (local.set $r
          (f32x4.sqrt
            (f32x4.mul
              (v128.const f32x4 -2 -2 -2 -2)
              (f32x4.add
                (f32x4.mul
                  (f32x4.convert_i32x4_s (i32x4.shr_s (local.get $ix) (i32.const 23)))
                  (global.get $LN2))
                (f32x4.mul
                  (local.get $s)
                  (f32x4.add (v128.const f32x4 2 2 2 2)
                    (f32x4.mul (local.get $s2)
                      (f32x4.add (global.get $LOG_1)
                        (f32x4.mul (local.get $s2)
                          (f32x4.add (global.get $LOG_2)
                            (f32x4.mul (local.get $s2)
                              (f32x4.add (global.get $LOG_3)
                                (f32x4.mul (local.get $s2) (global.get $LOG_4))))))))))))))
        ;; The angle: octant o, and t ∈ (0, 1) from the next 21 bits, mirrored in odd octants.
        (local.set $o (i32x4.shr_u (local.get $h2) (i32.const 29)))
        (local.set $t
          (f32x4.mul
            (f32x4.convert_i32x4_s
              (v128.or
                (i32x4.shl
                  (v128.xor
                    (v128.and (i32x4.shr_u (local.get $h2) (i32.const 8)) (global.get $FRACTION))
                    (v128.and (i32x4.neg (v128.and (local.get $o) (global.get $I1))) (global.get $FRACTION)))
                  (i32.const 1))
                (global.get $I1)))
            (global.get $TWO_M22)))
        (local.set $t2 (f32x4.mul (local.get $t) (local.get $t)))
        (local.set $sn
          (f32x4.mul
            (local.get $t)
            (f32x4.add (global.get $SIN_0)
              (f32x4.mul (local.get $t2)
                (f32x4.add (global.get $SIN_1)
                  (f32x4.mul (local.get $t2)
                    (f32x4.add (global.get $SIN_2)
                      (f32x4.mul (local.get $t2)
                        (f32x4.add (global.get $SIN_3)
                          (f32x4.mul (local.get $t2) (global.get $SIN_4)))))))))))
        (local.set $cs
          (f32x4.add (global.get $F1)
            (f32x4.mul (local.get $t2)
              (f32x4.add (global.get $COS_1)
                (f32x4.mul (local.get $t2)
                  (f32x4.add (global.get $COS_2)
                    (f32x4.mul (local.get $t2)
                      (f32x4.add (global.get $COS_3)
                        (f32x4.mul (local.get $t2)
                          (f32x4.add (global.get $COS_4)
                            (f32x4.mul (local.get $t2) (global.get $COS_5))))))))))))
        ;; Octants 1, 2, 5, 6 swap sin and cos; cos is negative in 2..5, sin in 4..7 (sign bits).
        (local.set $swap
          (i32x4.neg
            (v128.and (i32x4.shr_u (i32x4.add (local.get $o) (global.get $I1)) (i32.const 1)) (global.get $I1))))
        (local.set $z0
          (f32x4.mul (local.get $r)
            (v128.xor
              (v128.bitselect (local.get $sn) (local.get $cs) (local.get $swap))
              (i32x4.shl
                (v128.and (i32x4.add (local.get $o) (global.get $I2)) (global.get $I4))
                (i32.const 29)))))
        (local.set $z1
          (f32x4.mul (local.get $r)
            (v128.xor
              (v128.bitselect (local.get $cs) (local.get $sn) (local.get $swap))
              (i32x4.shl (v128.and (local.get $o) (global.get $I4)) (i32.const 29)))))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then
            (local.set $z0 (v128.or (v128.and (local.get $z0) (global.get $SIGN_BIT)) (global.get $F1)))))
        (if (i32.eq (local.get $kind) (i32.const 2))
          (then (local.set $z0 (f32x4.mul (local.get $z0) (local.get $z0)))))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then
            (local.set $z1 (v128.or (v128.and (local.get $z1) (global.get $SIGN_BIT)) (global.get $F1)))))
        (if (i32.eq (local.get $kind) (i32.const 2))
          (then (local.set $z1 (f32x4.mul (local.get $z1) (local.get $z1)))))
        ;; Interleave: elements 2j, 2j+1 are pair j's cos and sin; T(z) commutes with the shuffle.
        (local.set $t
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $z0) (local.get $z1)))
        (local.set $z1
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $z0) (local.get $z1)))
        (local.set $z0 (local.get $t))
        (if (local.get $hasX)
          (then
            (v128.store (local.get $out)
              (f32x4.add
                (f32x4.mul (local.get $av) (v128.load (local.get $x)))
                (f32x4.mul (local.get $bv) (local.get $z0))))
            (v128.store offset=16 (local.get $out)
              (f32x4.add
                (f32x4.mul (local.get $av) (v128.load offset=16 (local.get $x)))
                (f32x4.mul (local.get $bv) (local.get $z1))))
            (local.set $x (i32.add (local.get $x) (i32.const 32))))
          (else
            (v128.store (local.get $out) (f32x4.mul (local.get $bv) (local.get $z0)))
            (v128.store offset=16 (local.get $out) (f32x4.mul (local.get $bv) (local.get $z1)))))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (local.set $c (i32x4.add (local.get $c) (v128.const i32x4 8 8 8 8)))
        (br_if $pairs (i32.lt_u (local.get $out) (local.get $end)))))))
