/// jit (issue 15, first slice).
/// - Computes: `f` traced once per input signature (avals) into a closed program (captured
///   constants hoisted to its first inputs), bound as one `jit` primitive whose param is the
///   program. Evaluated by `Executor` (scalar equations as straight-line float code, the rest
///   bound on concrete tensors); the optimization passes and fused array loops come behind
///   the same primitive.
/// - Its rules make it compose with every transform: JVP linearizes the body at the primals
///   and binds the linear program as another `jit` (so under `grad` the tangent work is one
///   linear `jit` equation); the transpose rule transposes a body with some inputs known
///   (the residuals); the batch rule batches the body.
/// - Inside the traced function a value has no number (the trace stages everything, as
///   makeIR's): reading one raises ConcretizationException naming jit.
module internal FunDiff.Compiler.JitPrimitive

open System
open System.Collections.Concurrent
open FunDiff
open FunDiff.Backend
open FunDiff.Transforms
open FunDiff.Transforms.Staging

let private bodyOf (pars: Params) =
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

// JVP: the body linearized at the primals gives the primal outputs and a linear program whose
// consts are the residuals; that program, closed, is bound as another jit on the residuals and
// the tangents. Under grad the tangent work is therefore one linear jit equation.
let private primalAndTangent (primals: Tensor[]) (tangents: Tensor voption[]) (pars: Params) =
    let body = bodyOf pars

    let wrt =
        [|
            for i in 0 .. tangents.Length - 1 do
                if tangents.[i].IsSome then
                    i
        |]

    let f (xs: Tensor[]) =
        Program.eval body.Program (withInputs primals wrt xs)

    let ys, linear =
        Linearize.linearizeMany "jit" f (wrt |> Array.map (fun i -> primals.[i]))

    let closed, residuals = Program.close linear

    let tangentsOut =
        bind
            (paramsOf (body.Name + "_jvp") closed)
            (Array.append residuals (wrt |> Array.map (fun i -> tangents.[i].Value)))

    ys, tangentsOut |> Array.map ValueSome

// transpose with respect to the Linear inputs, the Known ones (residuals) fixed: the body as a
// function of its linear inputs is linear, so its linearization at zero is itself, transposed
// by the backward pass
let private transpose (cts: Tensor[]) (args: LinearArg[]) (pars: Params) =
    let body = bodyOf pars

    let known =
        args
        |> Array.map (function
            | Known v -> v
            | Linear _ -> Unchecked.defaultof<Tensor>)

    let linearAt =
        [|
            for i in 0 .. args.Length - 1 do
                match args.[i] with
                | Linear _ -> i
                | Known _ -> ()
        |]

    let zeros =
        linearAt
        |> Array.map (fun i ->
            match args.[i] with
            | Linear aval -> Prim.zeros aval
            | Known v -> v)

    let _, linear =
        Linearize.linearizeMany "jit" (fun lins -> Program.eval body.Program (withInputs known linearAt lins)) zeros

    let cotangents = Transpose.backwardPass linear cts
    let result = Array.create args.Length ValueNone
    linearAt |> Array.iteri (fun k i -> result.[i] <- ValueSome cotangents.[k])
    result

// batching: the body evaluated under the batch trace, every output batched along axis 0
let private batch (xs: Tensor[]) (axes: int voption[]) (pars: Params) =
    let body = bodyOf pars

    let outs = Batching.vmapMany "jit" (Program.eval body.Program) xs axes (fun _ -> 0)

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
    self.Value <- prim
    prim

/// A jitted function's traced bodies by input signature (avals), bounded and thread-safe:
/// concurrent first calls of one signature trace once (a Lazy per entry).
[<Sealed>]
type internal JitCache(name: string, f: Tensor[] -> Tensor[]) =
    static let capacity = 64
    let entries = ConcurrentDictionary<string, Lazy<Params * Tensor[]>>()
    let gate = Object()
    let mutable traces = 0
    let mutable lastSignature: Aval[] = null
    let mutable lastRetrace = "not called yet"

    let signature (xs: Tensor[]) =
        xs |> Array.map (fun x -> string x.Aval) |> String.concat ","

    let reason (avals: Aval[]) =
        if isNull lastSignature then
            "the first call"
        elif lastSignature.Length <> avals.Length then
            sprintf "the number of inputs changed %d -> %d" lastSignature.Length avals.Length
        else
            [
                for i in 0 .. avals.Length - 1 do
                    if not (avals.[i].Equals lastSignature.[i]) then
                        yield sprintf "input %d changed %O -> %O" i lastSignature.[i] avals.[i]
            ]
            |> function
                | [] -> "a signature seen before whose trace was evicted or not cacheable"
                | changes -> String.concat ", " changes

    let trace (avals: Aval[]) =
        lock gate (fun () ->
            traces <- traces + 1
            lastRetrace <- reason avals
            lastSignature <- avals)

        let body, captured = traceClosed "jit" f avals
        paramsOf name body, captured

    /// How many times the function was traced.
    member _.Traces = traces

    /// Why the last trace happened (e.g. "input 0 changed f64[3] -> f64[4]").
    member _.LastRetrace = lastRetrace

    /// Calls the function: traces it for a new signature, then binds `jit` on the captured
    /// values and `xs`.
    member _.Call(xs: Tensor[]) : Tensor[] =
        Guard.notNullElements name "inputs" xs
        let key = signature xs
        let avals = xs |> Array.map (fun x -> x.Aval)

        if entries.Count >= capacity && not (entries.ContainsKey key) then
            entries.Clear()

        let entry =
            entries.GetOrAdd(key, fun _ -> Lazy<Params * Tensor[]>(Func<Params * Tensor[]>(fun () -> trace avals)))

        let pars, captured =
            try
                entry.Value
            with _ ->
                // a failed trace is not kept (Lazy would rethrow it on every later call)
                entries.TryRemove(key) |> ignore
                reraise ()

        // a captured tracer (the function closes over a value of an enclosing transform) is
        // valid for this call only: the next call traces again
        if captured |> Array.exists (fun c -> c :? Tracer) then
            entries.TryRemove(key) |> ignore

        bind pars (Array.append captured xs)

/// The program jit runs for `f` on inputs of these avals: `f` traced and closed (its captured
/// values its first inputs), then optimized by the passes. A program that is one `jit`
/// equation (`f` itself jitted) is that equation's body.
let internal lowered (f: Tensor[] -> Tensor[]) (avals: Aval[]) : Program =
    let body, _ = traceClosed "lowered" f avals

    let inner =
        match body.EquationArray with
        | [| e |] when Object.ReferenceEquals(e.Primitive, self.Value) -> (bodyOf e.Params).Program
        | _ -> body

    Passes.optimize inner
