// Room: the transforms users call: jvp, linearize, vjp, grad, jacfwd, jacrev, hessian, hvp, makeIR.
namespace FunDiff

open FunDiff.Transforms
open FunDiff.Compiler

/// A jitted function of one tensor (`Diff.jitted f`): call it with `Invoke`, and ask how often
/// and why it was traced. `jit f` is its `Invoke`.
[<Sealed>]
type Jitted internal (cache: JitCache.Cache) =
    /// Applies the function: traced on the first call of each input signature (shape and
    /// dtype), then the traced program is reused.
    member _.Invoke(x: Tensor) : Tensor =
        Guard.notNull "jit" "x" x
        (cache.Call [| x |]).[0]

    /// How many times the function has been traced.
    member _.TraceCount = cache.Traces

    /// Why the last trace happened: "the first call", or e.g. "input 0 changed f64[3] -> f64[4]".
    member _.LastRetrace = cache.LastRetrace

/// What jit runs for a function on inputs of one signature (`Diff.lowered f x`): the program
/// after the optimization passes and how its equations are grouped for execution into fused
/// loops (one pass over the arrays of one shape). Print it (`%O`, `ToString()`) to see the
/// program with each fused equation tagged by its loop, and one line per loop.
[<Sealed>]
type Lowered internal (program: Program, loops: string[], text: string) =
    /// The optimized program.
    member _.Program = program

    /// One line per fused loop: its shape, the equations it runs (by their outputs' names in the
    /// printed program), the values it writes as arrays and the sums it ends in.
    member _.Loops = loops

    /// The equations of the optimized program.
    member _.Equations = program.Equations

    override _.ToString() = text

/// The transforms, over `Tensor -> Tensor` (monomorphic, so lambdas that index a tensor keep
/// their type inference). They compose to any depth: `grad (grad f)`, `jvp (grad f)`,
/// `jacfwd (jacrev f)`.
[<AutoOpen>]
module Diff =

    /// Forward mode: `jvp f x v` is `(f x, J v)`, the output and its derivative along `v`
    /// (same shape as `x`). Raises ShapeException if `v`'s shape differs from `x`'s.
    let jvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        Guard.notNull "jvp" "f" f
        Guard.notNull "jvp" "x" x
        Guard.notNull "jvp" "v" v
        let y, t = Jvp.jvpWith "jvp" f x v

        match t with
        | ValueSome t -> y, t
        | ValueNone -> y, Prim.zeros (y.Aval.WithDType Float64)

    /// `linearize f x` is `(f x, fun v -> J v)`: the primal is computed once and the tangent map
    /// is a staged linear program, cheap to apply many times.
    let linearize (f: Tensor -> Tensor) (x: Tensor) : Tensor * (Tensor -> Tensor) =
        Guard.notNull "linearize" "f" f
        Guard.notNull "linearize" "x" x
        let y, linear = Linearize.linearizeProgram "linearize" f x

        y,
        fun v ->
            Guard.notNull "linearize" "v" v

            if not (v.Aval.Shape = x.Aval.Shape) then
                raise (
                    ShapeException(
                        sprintf
                            "linearize: the tangent has shape %s but the input has shape %s."
                            (Shape.show v.Aval.Shape)
                            (Shape.show x.Aval.Shape)
                    )
                )

            (Program.eval linear [| Prim.convert Float64 v |]).[0]

    /// Reverse mode: `vjp f x` is `(f x, pullback)` with `pullback u = Jᵀ u` (`u` of the
    /// output's shape, the result of `x`'s shape).
    let vjp (f: Tensor -> Tensor) (x: Tensor) : Tensor * (Tensor -> Tensor) =
        Guard.notNull "vjp" "f" f
        Guard.notNull "vjp" "x" x
        let y, linear = Linearize.linearizeProgram "vjp" f x

        y,
        fun u ->
            Guard.notNull "vjp" "u" u
            Linearize.checkCotangent "vjp" y u
            (Transpose.backwardPass linear [| Prim.convert Float64 u |]).[0]

    /// The gradient of a scalar function, of `x`'s shape. Raises NonScalarOutputException if
    /// `f` returns a non-scalar. Example: `grad (fun x -> Tensor.sum (x * x)) x` is `2x`.
    let grad (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "grad" "f" f

        fun x ->
            Guard.notNull "grad" "x" x
            snd (Linearize.valueAndGrad "grad" f x)

    /// `(f x, grad f x)` in one pass.
    let valueAndGrad (f: Tensor -> Tensor) : Tensor -> Tensor * Tensor =
        Guard.notNull "valueAndGrad" "f" f

        fun x ->
            Guard.notNull "valueAndGrad" "x" x
            Linearize.valueAndGrad "valueAndGrad" f x

    /// A Jacobian transform whose `f` and `x` are checked for null under the transform's name.
    let private checkedJacobian (name: string) (jacobian: (Tensor -> Tensor) -> Tensor -> Tensor) f =
        Guard.notNull name "f" f

        fun x ->
            Guard.notNull name "x" x
            jacobian f x

    /// The Jacobian by forward mode, of shape `out.shape ++ in.shape`.
    let jacfwd (f: Tensor -> Tensor) : Tensor -> Tensor =
        checkedJacobian "jacfwd" (Jacobian.jacfwd 0) f

    /// The Jacobian by reverse mode, of shape `out.shape ++ in.shape`.
    let jacrev (f: Tensor -> Tensor) : Tensor -> Tensor =
        checkedJacobian "jacrev" (Jacobian.jacrev 0) f

    /// `jacfwd` evaluating `chunk` basis directions per batched evaluation (torch.func's
    /// `chunk_size`): less memory for a large input, the same Jacobian. `chunk` ≥ 1.
    let jacfwdChunked (chunk: int) (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "jacfwdChunked" "f" f
        Guard.positive "jacfwdChunked" "chunk" chunk
        checkedJacobian "jacfwd" (Jacobian.jacfwd chunk) f

    /// `jacrev` evaluating `chunk` cotangent directions per batched evaluation: less memory
    /// for a large output, the same Jacobian. `chunk` ≥ 1.
    let jacrevChunked (chunk: int) (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "jacrevChunked" "f" f
        Guard.positive "jacrevChunked" "chunk" chunk
        checkedJacobian "jacrev" (Jacobian.jacrev chunk) f

    /// The Jacobian by the cheaper mode (forward when the input is smaller than the output).
    let jacobian (f: Tensor -> Tensor) : Tensor -> Tensor =
        checkedJacobian "jacobian" Jacobian.jacobian f

    /// The Hessian `jacfwd (jacrev f)`, of shape `out.shape ++ in.shape ++ in.shape`.
    let hessian (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "hessian" "f" f
        jacfwd (jacrev f)

    /// The Hessian-vector product `H v` by forward-over-reverse (`jvp (grad f) x v`), without
    /// forming the Hessian.
    let hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor =
        Guard.notNull "hvp" "f" f
        Guard.notNull "hvp" "x" x
        Guard.notNull "hvp" "v" v
        snd (jvp (grad f) x v)

    /// Batching: `vmap f xs` is `f` applied to every slice `xs.[i]` along axis 0, stacked along
    /// axis 0 of the result, computed as one batched evaluation (each primitive applied once
    /// to the whole batch), not a loop. Composes with every transform in any order:
    /// `vmap (grad f)` gives per-example gradients. A value `f` closes over is the same for
    /// every example. Inside `f`, tensors have per-example shapes.
    let vmap (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "vmap" "f" f

        fun x ->
            Guard.notNull "vmap" "x" x
            Batching.vmapAxes "vmap" 0 0 f x

    /// `vmap` over axis `inAxis` of the input, the batch placed at axis `outAxis` of the
    /// result (negative axes count from the end, as in NumPy).
    let vmapAxes (inAxis: int) (outAxis: int) (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "vmapAxes" "f" f

        fun x ->
            Guard.notNull "vmapAxes" "x" x
            Batching.vmapAxes "vmap" inAxis outAxis f x

    /// `jit f` with the trace count and the reason of the last retrace: `(jitted f).Invoke x`.
    let jitted (f: Tensor -> Tensor) : Jitted =
        Guard.notNull "jitted" "f" f
        Jitted(JitCache.Cache("jit", fun xs -> [| f xs.[0] |]))

    /// jit: `f` traced once per input signature (shape and dtype) into a program that later
    /// calls reuse, bound as one `jit` primitive, so it composes with every transform:
    /// `jit (grad f)`, `grad (jit f)`, `vmap (jit f)`, `hessian (jit f)`. Values `f` closes
    /// over are constants of the program; inside `f` a tensor has no number (an `if` on a value
    /// raises ConcretizationException: use `Tensor.where`). This first version evaluates the
    /// traced program is optimized (`lowered` shows it), its scalar equations run as straight-line
    /// float code and its elementwise chains as fused loops; other equations call their kernels.
    let jit (f: Tensor -> Tensor) : Tensor -> Tensor =
        Guard.notNull "jit" "f" f
        (jitted f).Invoke

    /// What `jit f` runs on inputs of `x`'s aval: the program after the optimization passes
    /// (constants folded, common subexpressions merged, dead equations removed) and its
    /// grouping into fused loops. Print it (`%O`) to see both. `lowered (jit f) x` shows the
    /// body of the jit equation.
    let lowered (f: Tensor -> Tensor) (x: Tensor) : Lowered =
        Guard.notNull "lowered" "f" f
        Guard.notNull "lowered" "x" x
        let program = JitCache.lowered (fun xs -> [| f xs.[0] |]) [| x.Aval |]
        let loops, text = Executor.describe program
        Lowered(program, loops, text)

    /// Runs `f` with NaN checking: the first primitive that produces a NaN raises NanException
    /// naming it, its operands and (inside a program, e.g. the backward pass of `grad`) the
    /// equations around it. Scoped to this call (AsyncLocal), not a global flag.
    /// Example: `Diff.withDebugNans (fun () -> grad f x)`.
    let withDebugNans (f: unit -> 'a) : 'a =
        Guard.notNull "withDebugNans" "f" f
        Interpreter.WithDebugNans f

    /// The program `f` computes on an input of `x`'s aval, with known values folded and dead
    /// equations removed. Print it (`%O`) or draw it (`.ToMermaid()`). Reading a number from
    /// the input inside `f` raises ConcretizationException.
    let makeIR (f: Tensor -> Tensor) (x: Tensor) : Program =
        Guard.notNull "makeIR" "f" f
        Guard.notNull "makeIR" "x" x
        Staging.stage "makeIR" f x.Aval
