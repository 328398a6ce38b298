/// The section of docs/BENCHMARKS.md under the targets table: for every target the tables
/// mark "not met", by how much (the table's figure) and what the remaining cost is, as the
/// profiles found it (allocation ticks by type from an EventListener, dotnet-trace thread
/// time, GC pause from GC.GetTotalPauseDuration, per-equation Stopwatch timing by
/// `-- profile vmap`). Prose, not measured in the run: each paragraph says where its figures
/// come from, so a reader can tell the run's numbers from the profiles'.
module FunDiff.Bench.RemainingCosts

/// The section's markdown.
let section =
    """### Where the remaining cost is (targets not met)

The figures are the targets table's, from this run; the causes come from profiles, and each
paragraph says which. They are measured on this shared two-core machine. A quiet Release
harness gives lower absolute times than a bench run under load (the scalar loop evaluates in
0.038–0.05 µs per primitive there).

- **Scalar loop, evaluation** (target 0.06 µs; figure at or just above it): 94 B per primitive
  remain. They are the operand array (two operands: 40 B) and the result's `ConcreteTensor`
  (the number held in it, no `NDArray`). The rest of the time is the owner walk over the
  interpreter stack, one `AsyncLocal` read per bind. The scalar fast path already skips the
  shape rule, the kernel and the arrays (DESIGN-DECISIONS, "Rank-0 float64 work takes a scalar
  fast path").
- **Scalar loop, jvp** (target 0.15 µs; about 0.25–0.37 µs): each primitive binds its primal
  and, through its JVP rule, 1–3 tangent primitives (`mul`: two products and a sum). So a
  primitive costs 2–4 evaluated binds (at about 0.05 µs each) plus 446 B: a `JvpTracer` per
  output, the tangent `voption[]` handed to the rule and returned by it, and the rule's
  closures.
- **Scalar loop, grad** (target 0.25 µs and 400 B; about 0.7–1.1 µs and 1093 B). Profiled by
  allocation ticks and dotnet-trace (DESIGN-DECISIONS, "grad keeps its JVP-over-staging pair"):
  - `Tensor[]` operand and result arrays are 28 % of the bytes;
  - `voption<Tensor>[]` and `LinearArg[]` of the rules are 22 %;
  - about 250 B per staged equation survive to the end of the call (the `Equation`, its arrays,
    the `Var`, its `Atom`, the staging tracer), so about 20 % of `grad`'s time is GC pause
    (1 % under `jvp`).

  The remedy is a compact linear tape: struct equations with operand ids, from which a
  `Program` is built only when one is printed or evaluated again. It belongs with jit's
  restructuring of `Program` and `Primitive` (issue 15).
- **Fresh buffers in the full run (found and fixed this session; no dedicated test yet).**
  In the full `-- quick` run, Rosenbrock `f` allocated 30–40 MiB per call at 10⁶ (and 1.8–3.2
  MiB at 10⁵ in two of three runs): fresh buffers, where the pool should hand back recycled
  ones. Alone in a Release harness it allocated 6 KB per call. Uniform arrays were not the
  cause: a full run with them switched off still allocated 24 MiB per call. The pool's idle
  cap was. It is 512 MiB over all lengths, and a returned buffer was dropped when the cap was
  full. The batched Jacobian rows (table 8) leave tens of 8 MB buffers of lengths near 10⁶
  idle, so Rosenbrock's own buffers were refused on return and rented fresh on the next call.
  The cap now makes room by dropping the idle buffers of the lengths used longest ago.
  Measured in the full run: 10⁶ `f` 30.5 → 4.8 MiB per call and 12.0 → 6.0 ms; `grad`
  53 → 1.6 MiB and 21.1 → 11.6 ms.
- **Rosenbrock f within 1.5× the hand-written f** (about 2.8×): the two slices are views now,
  but the eager `f` still makes 8 array passes (`b*b`, `a-…`, `**2`, `*100`, `1-b`, `**2`,
  `+`, `sum`) where the loop makes one. Each pass is within 1.3× of a TensorPrimitives pass
  (table 9), so the gap is the number of passes. Only fusion removes passes: jit (issue 15).
- **Rosenbrock grad / f ≤ 2.5** (about 2.7–2.8): the backward pass is about 12 more passes (the
  cotangents of the two squares, the products and the two slices, padded back into `x`'s
  shape and summed). Their ratio to `f`'s 8 passes is set by the op mix, not by overhead, so
  this too needs fusion.
- **Elementwise `tanh x * y + x` within 1.5× of the fused loop** (about 2.2×): 3 passes against
  1, each within table 9's ratios. Fusion again (issue 15).
- **Primitive families within 1.3× of TensorPrimitives / Span copies** (table 9; the rows
  marked "no"). Profiled op by op in a Release harness (DESIGN-DECISIONS, "Large outputs of our
  own vector loops are stored non-temporally"):
  - the kernels themselves are not the gap: `pow_const 2` is `x*x`, a scalar operand is
    vectorized, `sumAxes [0]` adds rows with TensorPrimitives, and outputs of 32768 elements
    or more are stored non-temporally, as TensorPrimitives stores them;
  - what remains at 10⁵ is the buffer pool: a bare loop renting its output from the pool is as
    slow as our kernel. It pays about 3–5 µs of induced collection per rental, and writes into
    a buffer last touched a collection ago, so out of cache;
  - the fresh-array reference's own time swings 5–10× between runs on this machine, so a
    single run's ratio in these rows is noisy both ways.
- **Matmul against OpenBLAS**: not measured when `libopenblas.so.0` cannot be loaded on the
  machine (the bench says so above).
- **Per-example gradients, vmap ≥ 10× a loop of grads and within 3× of one batch gradient**.
  Profiled by `-- profile vmap`, with a Stopwatch per equation of the staged program:
  - the per-example W1 gradients are 64 × 784 × 256 doubles, 98 MiB, and the one product that
    writes them is 69–74 % of vmap's kernel time;
  - writing 98 MiB into a reused array takes 4.5–7 ms on this machine, so ≥ 10× the loop (about
    1.4 ms) would be faster than writing the result: not reachable at this model size;
  - against the batch gradient, whose matching product writes 0.2 MiB, the gap is that write,
    plus a full collection every other call (2.1 ms) for the pool to take back the 98 MiB
    buffer (large-object heap).
- **Hessian of Rosenbrock, n = 100, batched ≥ 5× the loop over the basis** (about 3.8×):
  - about 43 % of the batched call is the transforms: linearizing `jacrev f` and tracing the
    batched program, about 140 µs whatever n is;
  - the rest is about 40 kernels on 100 × 99 arrays;
  - with the transforms free the ratio would be about 4.9×;
  - compiling the linear program once (jit) removes the per-call tracing.
- **jit: Rosenbrock `jit (grad f)` within 1.5× of the hand-written gradient into a reused
  array, `jit f` within 1.3× of the hand-written f, `tanh x * y + x` within 1.1× of the fused
  loop** (tables 13 and 15). Since the fused loops (one pass a tile at a time over each chain
  of elementwise equations, `lowered` shows the grouping), `jit f` of Rosenbrock is *faster*
  than the hand-written scalar loop at 10⁵ and 10⁶ (about 0.6×: the loop's kernels are
  vectorized, the hand loop is not; the `jit f` target is met since the slices are read in
  place) and the gradient went from about 11× to 2–3× at 10⁵ (2.2× and 3.0× in the two runs of
  this session). What remains:
  - at 10³, `jit f` is about 1.2× the 1.7 µs loop: a fixed cost of about 0.3 µs per call (the
    signature lookup of the cache, the registers, the loop's set-up, the result's tensor);
  - the gradient's result is a fresh 10⁵- or 10⁶-element array each call (the hand-written
    loop writes into one it reuses): at 10⁵ the pool's collections that recycle it are about
    a quarter of the call (the GC pause column), at 10⁶ the pool misses (about 5 MiB
    allocated per call: fresh pages) and the call is 5–6× the loop. Only writing into a
    buffer the caller gives back (JAX's donated arguments) would remove that; not built;
  - the gradient runs two loops (the first writes the two arrays the pads of the slices'
    transposes read, which stay in the program's buffers; the second reads them shifted),
    so it makes about three passes over memory where the hand loop makes one;
  - the elementwise row's `tanh` is FunDiff's accuracy-corrected kernel (TensorPrimitives'
    Tanh, then a series on the vectors with |x| < 0.625); run a tile at a time it cost about
    twice TensorPrimitives.Tanh alone (81 against 43 ms for 10⁷ elements, in a stand-alone
    Release program), and the fused reference calls TensorPrimitives.Tanh. The same kernel
    reached through the library's delegate measured 30 % slower again than through one built
    in the calling assembly, and 2× slower with tiered PGO off: the row depends on the JIT's
    code generation as much as on the loop.
- **jit, the MLP** (table 16): `Tree.jit (Tree.grad loss)` runs the record's gradient with
  the matrix products as kernels and the elementwise chains between them fused; the raveled
  row goes through `unravel`'s slices, whose transposes pad each leaf's cotangent to the
  203 530-element vector and add them, which `Tree.grad` of the record never does.
"""
