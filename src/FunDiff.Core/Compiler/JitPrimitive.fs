/// jit (issue 15, first slice).
/// - Computes: `f` traced once per input signature (avals) into a closed program (captured
///   constants hoisted to its first inputs), bound as one `jit` primitive whose param is the
///   program. Evaluated by `Executor` (scalar equations as straight-line float code, the rest
///   bound on concrete tensors); the optimization passes and fused array loops come behind
///   the same primitive.
/// - Its rules make it compose with every transform, each tracing what it derives once and
///   keeping it with the body: JVP is partial evaluation into a known program (primal outputs
///   and residuals) and a linear one, both bound as `jit` (so `grad (jit f)` is one compiled
///   forward and one compiled backward call); the transpose rule transposes a body with some
///   inputs known (the residuals); the batch rule batches the body.
/// - Inside the traced function a value has no number (the trace stages everything, as
///   makeIR's): reading one raises ConcretizationException naming jit.
module internal FunDiff.Compiler.JitPrimitive

open System
open System.Collections.Concurrent
open FunDiff
open FunDiff.Backend
open FunDiff.Transforms
open FunDiff.Transforms.Staging

/// The closed program a `jit` equation holds.
let internal bodyOf (pars: Params) =
    match pars.["body"] with
    | Closed(:? ClosedProgram as body) -> body
    | v -> raise (TransformException(sprintf "jit: its body param is %O, not a closed program (a bug)." v))

/// Traces `f` on inputs of the given avals, everything staged (as makeIR), and closes it: the
/// body and the captured values to pass as its first inputs.
let internal traceClosed (transform: string) (f: Tensor[] -> Tensor[]) (avals: Aval[]) : Program * Tensor[] =
    let trace = StagingTrace(Interpreter.Current, transform)
    trace.StagesEverything <- true
    let inputs = avals |> Array.map trace.NewInput

    let program =
        TraceScope.run trace transform (fun () ->
            let results = f (inputs |> Array.map (fun t -> t :> Tensor))
            Guard.notNullElements transform "the function's results" results
            trace.Finish(inputs |> Array.map (fun t -> t.Var), results))

    Program.close program

// the primitive, set once below: its own rules bind it again (the linear part of a JVP, ...)
let private self: Primitive ref = ref null

/// The params of a `jit` equation with this body.
let internal paramsOf (name: string) (body: Program) =
    Params [| "body", Closed(ClosedProgram(body, name)) |]

/// Binds `jit` with these params on the body's inputs (captured values first).
let internal bind (pars: Params) (inputs: Tensor[]) =
    Interpreter.Bind(self.Value, inputs, pars)

/// The body's compiled form (after the passes), made on its first evaluation and kept with it
/// (a race compiles twice and keeps one: both are the same steps).
let private compiledOf (body: ClosedProgram) =
    match body.Compiled with
    | :? Executor.Compiled as c -> c
    | _ ->
        let c = Executor.Compiled.Of(Passes.optimize body.Program)
        body.Compiled <- c
        c

// concrete evaluation: the compiled body on concrete values (no trace: plain evaluation);
// under NaN debugging the equations are bound one by one, so a NaN is reported in context
let private evaluate (arrays: NDArray[]) (pars: Params) =
    let body = bodyOf pars
    let args = arrays |> Array.map Prim.ofArray
    let saved = Interpreter.Enter null

    try
        let results =
            if Interpreter.DebuggingNans then
                Program.eval body.Program args
            else
                (compiledOf body).Run args

        results |> Array.map (fun t -> t.Concrete "jit")
    finally
        Interpreter.Restore saved

let private shapeRule (avals: Aval[]) (pars: Params) =
    let body = bodyOf pars
    let inVars = body.Program.InVarArray

    if avals.Length <> inVars.Length then
        raise (
            ShapeException(
                sprintf "jit: %s takes %d inputs (captured values first), got %d." body.Name inVars.Length avals.Length
            )
        )

    for i in 0 .. avals.Length - 1 do
        if not (avals.[i].Equals inVars.[i].Aval) then
            raise (
                ShapeException(
                    sprintf
                        "jit: input %d of %s has aval %O, but it was traced for %O."
                        i
                        body.Name
                        avals.[i]
                        inVars.[i].Aval
                )
            )

    body.Program.OutputArray |> Array.map (fun a -> a.Aval)

/// The inputs with those at `at` replaced by `values`.
let private withInputs (inputs: Tensor[]) (at: int[]) (values: Tensor[]) =
    let merged = Array.copy inputs
    at |> Array.iteri (fun k i -> merged.[i] <- values.[k])
    merged

/// A program derived from a body by a rule, traced once per key and kept with the body
/// (a Lazy per key: concurrent first uses trace once).
let private derived<'T> (body: ClosedProgram) (key: string) (make: unit -> 'T) : 'T =
    let entry =
        body.Derived.GetOrAdd(key, fun _ -> box (Lazy<'T>(Func<'T>(make)))) :?> Lazy<'T>

    entry.Value

/// A body split for its JVP: the known program (primal inputs → primal outputs, then the
/// residuals) and the linear one (its consts, then the tangents → output tangents).
type private Linearization =
    {
        Known: Params
        KnownCaptured: Tensor[]
        Linear: Params
        /// The linear program's consts in order: a constant captured at trace time, or
        /// ValueNone for a residual (the known call's next extra output).
        LinearConsts: Tensor voption[]
        Outputs: int
    }

let private avalsOf (p: Program) =
    p.InVarArray |> Array.map (fun v -> v.Aval)

let private maskKey (kind: string) (flags: bool[]) =
    kind
    + ":"
    + (flags |> Array.map (fun f -> if f then "1" else "0") |> String.concat "")

// The JVP, by partial evaluation of the body (JAX's partial_eval_jaxpr), traced once per set of
// differentiated inputs: a *known* program from the primal inputs to the primal outputs and the
// residuals, and a *linear* program from the residuals and the tangents to the output tangents.
// Each is bound as a jit: under grad the forward work is one compiled call at the parent and
// the tangent work one linear jit equation, which the transpose rule below transposes.
let private linearizationOf (body: ClosedProgram) (wrt: bool[]) : Linearization =
    derived body (maskKey "jvp" wrt) (fun () ->
        let at =
            [|
                for i in 0 .. wrt.Length - 1 do
                    if wrt.[i] then
                        i
            |]

        let mutable linear = Unchecked.defaultof<Params>
        let mutable consts = [||]
        let mutable outputs = 0

        let known, captured =
            traceClosed
                "jit"
                (fun xs ->
                    let ys, linearProgram =
                        Linearize.linearizeMany
                            "jit"
                            (fun w -> Program.eval body.Program (withInputs xs at w))
                            (at |> Array.map (fun i -> xs.[i]))

                    // the linear program's consts: residuals (values of this trace, so extra
                    // outputs of the known program) and constants the rules made (kept)
                    let closed, linearConsts = Program.close linearProgram
                    let isResidual (c: Tensor) = c :? Tracer
                    linear <- paramsOf (body.Name + "_jvp") closed

                    consts <-
                        linearConsts
                        |> Array.map (fun c -> if isResidual c then ValueNone else ValueSome c)

                    outputs <- ys.Length
                    Array.append ys (linearConsts |> Array.filter isResidual))
                (avalsOf body.Program)

        {
            Known = paramsOf (body.Name + "_known") known
            KnownCaptured = captured
            Linear = linear
            LinearConsts = consts
            Outputs = outputs
        })

let private primalAndTangent (primals: Tensor[]) (tangents: Tensor voption[]) (pars: Params) =
    let body = bodyOf pars
    let split = linearizationOf body (tangents |> Array.map (fun t -> t.IsSome))
    let results = bind split.Known (Array.append split.KnownCaptured primals)
    let mutable residual = split.Outputs

    let consts =
        split.LinearConsts
        |> Array.map (fun c ->
            match c with
            | ValueSome c -> c
            | ValueNone ->
                residual <- residual + 1
                results.[residual - 1])

    let differentiated =
        [|
            for t in tangents do
                if t.IsSome then
                    t.Value
        |]

    results.[.. split.Outputs - 1], bind split.Linear (Array.append consts differentiated) |> Array.map ValueSome

// transpose with respect to the Linear inputs, the Known ones (residuals) fixed: the body as a
// function of its linear inputs is linear, so its linearization at zero is itself, transposed
// by the backward pass; traced once per set of linear inputs into a program bound as a jit
let private transpose (cts: Tensor[]) (args: LinearArg[]) (pars: Params) =
    let body = bodyOf pars

    let isLinear =
        args
        |> Array.map (function
            | Linear _ -> true
            | Known _ -> false)

    let linearAt =
        [|
            for i in 0 .. args.Length - 1 do
                if isLinear.[i] then
                    i
        |]

    let knownAt =
        [|
            for i in 0 .. args.Length - 1 do
                if not isLinear.[i] then
                    i
        |]

    let inAvals = avalsOf body.Program
    let outAvals = body.Program.OutputArray |> Array.map (fun a -> a.Aval)

    let transposedPars, captured =
        derived body (maskKey "transpose" isLinear) (fun () ->
            let program, captured =
                traceClosed
                    "jit"
                    (fun inputs ->
                        let knowns, cts = inputs.[.. knownAt.Length - 1], inputs.[knownAt.Length ..]
                        let fixedInputs = Array.zeroCreate inAvals.Length
                        knownAt |> Array.iteri (fun k i -> fixedInputs.[i] <- knowns.[k])
                        let zeros = linearAt |> Array.map (fun i -> Prim.zeros inAvals.[i])

                        let _, linear =
                            Linearize.linearizeMany
                                "jit"
                                (fun lins -> Program.eval body.Program (withInputs fixedInputs linearAt lins))
                                zeros

                        Transpose.backwardPass linear cts)
                    (Array.append (knownAt |> Array.map (fun i -> inAvals.[i])) outAvals)

            paramsOf (body.Name + "_transpose") program, captured)

    let knowns =
        knownAt
        |> Array.map (fun i ->
            match args.[i] with
            | Known v -> v
            | Linear _ -> invalidOp "a linear input among the known ones")

    let cotangents = bind transposedPars (Array.concat [ captured; knowns; cts ])
    let result = Array.create args.Length ValueNone
    linearAt |> Array.iteri (fun k i -> result.[i] <- ValueSome cotangents.[k])
    result

// batching: the body batched (vmapMany over its evaluation), traced once per batched
// signature into a program bound as a jit; every output batched along axis 0
let private batch (xs: Tensor[]) (axes: int voption[]) (pars: Params) =
    let body = bodyOf pars

    let key =
        "batch:"
        + String.concat
            ","
            [
                for i in 0 .. xs.Length - 1 ->
                    string xs.[i].Aval
                    + (match axes.[i] with
                       | ValueSome a -> "@" + string a
                       | ValueNone -> "")
            ]

    let batchedPars, captured =
        derived body key (fun () ->
            let program, captured =
                traceClosed
                    "jit"
                    (fun inputs -> Batching.vmapMany "jit" (Program.eval body.Program) inputs axes (fun _ -> 0))
                    (xs |> Array.map (fun x -> x.Aval))

            paramsOf (body.Name + "_batched") program, captured)

    let outs = bind batchedPars (Array.append captured xs)
    outs, Array.create outs.Length (ValueSome 0)

/// The `jit` primitive: a closed program as its `body` param, evaluated on its inputs.
let jitP =
    let rules =
        {
            Jvp = fun primals tangents pars _ -> snd (primalAndTangent primals tangents pars)
            Transpose = Some transpose
            NegatedOperands = [||]
            Batch = Some batch
            PrimalAndTangent = Some primalAndTangent
        }

    let prim = Primitive("jit", evaluate, shapeRule, box rules)
    // CSE may merge two jit equations of one body on the same inputs, as it merges built-ins
    prim.Pure <- true
    self.Value <- prim
    prim
