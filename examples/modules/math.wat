;; math.wat — small numeric exports used by the main job and the benchmarks.
;; Imports: none. Exports: memory (1 page) and the functions below.
(module
  (memory (export "memory") 1)

  ;; add(a: i32, b: i32) -> i32 (wrapping)
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  ;; sub(a: i32, b: i32) -> i32 (wrapping): a - b
  (func (export "sub") (param $a i32) (param $b i32) (result i32)
    (i32.sub (local.get $a) (local.get $b)))

  ;; mul(a: i32, b: i32) -> i32 (wrapping)
  (func (export "mul") (param $a i32) (param $b i32) (result i32)
    (i32.mul (local.get $a) (local.get $b)))

  ;; add64(a: i64, b: i64) -> i64 (wrapping)
  (func (export "add64") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))

  ;; addf(a: f64, b: f64) -> f64
  (func (export "addf") (param $a f64) (param $b f64) (result f64)
    (f64.add (local.get $a) (local.get $b)))

  ;; fib(n: i32) -> i64, iterative: fib(0) = 0, fib(1) = 1, fib(10) = 55, fib(90) = 2880067194370816120.
  ;; n <= 0 returns 0; results wrap modulo 2^64 beyond fib(92).
  (func (export "fib") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $t i64) (local $i i32)
    (local.set $a (i64.const 0))
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $a))

  ;; spin(iterations: i32) -> i32: pure CPU loop (xorshift32 stream folded into a multiplicative hash).
  ;; Deterministic; every iteration feeds the result, so the engine cannot remove the loop.
  ;; iterations <= 0 returns the initial accumulator 0x811c9dc5 (as i32: -2128831035).
  (func (export "spin") (param $n i32) (result i32)
    (local $x i32) (local $acc i32) (local $i i32)
    (local.set $x (i32.const 0x9e3779b9))
    (local.set $acc (i32.const 0x811c9dc5))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        ;; xorshift32
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
        (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
        ;; FNV-style fold: acc = (acc ^ x) * 16777619, rotated
        (local.set $acc
          (i32.rotl
            (i32.mul (i32.xor (local.get $acc) (local.get $x)) (i32.const 16777619))
            (i32.const 5)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
)
