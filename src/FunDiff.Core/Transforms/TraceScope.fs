/// Entering and leaving a trace, in one place for every transform: the trace becomes current
/// for the body only, is killed when the body ends (so a tracer that escapes raises when used),
/// and a shape error inside it says which transform it happened in.
module internal FunDiff.Transforms.TraceScope

open FunDiff

/// Runs `body` with `trace` current; afterwards the previous trace is current again and
/// `trace` is dead, whether the body returned or raised.
let run (trace: Trace) (transform: string) (body: unit -> 'a) : 'a =
    let saved = Interpreter.Enter trace

    try
        try
            body ()
        with :? ShapeException as e ->
            e.LeftTransform transform
            reraise ()
    finally
        Interpreter.Restore saved
        trace.Kill()
