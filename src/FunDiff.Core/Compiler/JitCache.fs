/// jit's cache: a jitted function's traced bodies by input signature (concurrent first calls
/// trace once; the reason of the last retrace kept), and `lowered`, the program jit runs.
module internal FunDiff.Compiler.JitCache

open System
open System.Collections.Concurrent
open FunDiff
open FunDiff.Compiler.JitPrimitive

/// A jitted function's traced bodies by input signature (avals), bounded and thread-safe:
/// concurrent first calls of one signature trace once (a Lazy per entry).
[<Sealed>]
type internal Cache(name: string, f: Tensor[] -> Tensor[]) =
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
        | [| e |] when Object.ReferenceEquals(e.Primitive, jitP) -> (bodyOf e.Params).Program
        | _ -> body

    Passes.optimize inner
