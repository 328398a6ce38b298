// Room: the engine: Tensor, tracers, traces and the interpreter stack that dispatches every bind; Prim, the one place ops bind primitives; the Tensor members and slicing.
namespace FunDiff

open System
open System.Threading
open FunDiff.Backend

/// A tensor: an n-dimensional array of float64 (or int64 / bool) values with reference
/// semantics. A tensor is either concrete (it holds its values) or a tracer that a transform
/// uses to follow the computation; user code cannot tell them apart except through the values
/// it reads. Every operation ends in `Interpreter.Bind` of a primitive.
[<AbstractClass>]
type Tensor internal (aval: Aval) =

    /// Shape and dtype.
    member _.Aval = aval
    /// The dimensions, outermost first (a fresh copy).
    member _.Shape: int[] = Array.copy aval.Shape
    /// The element type.
    member _.DType = aval.DType
    /// The number of dimensions.
    member _.Rank = aval.Rank
    /// The number of elements.
    member _.Size = aval.Size

    /// The concrete values behind this tensor (the primal under jvp/grad); raises a
    /// ConcretizationException under makeIR and an EscapedTracerException for a dead tracer.
    member internal x.Concrete(op: string) : NDArray =
        match x with
        | :? ConcreteTensor as c -> c.Array
        | :? Tracer as t ->
            t.CheckAlive op
            t.ToConcrete op
        | _ -> raise (FunDiffException(sprintf "%s: unknown kind of tensor %s" op (x.GetType().Name)))

    /// The values, flat and row-major (a fresh copy). Under jvp/grad the primal's values.
    member x.ToArray() : float[] =
        let a = x.Concrete "ToArray"
        let values = a.Span.ToArray()
        // a pooled buffer stays ours until the copy is done
        GC.KeepAlive a
        values

    /// The single value of a tensor with one element. Under jvp/grad the primal's value.
    member x.ToScalar() : float =
        let a = x.Concrete "ToScalar"

        if a.Size <> 1 then
            raise (
                ShapeException(
                    sprintf
                        "ToScalar: the tensor has shape %s (%d elements); only a tensor with one element converts to a float. Reduce it first, e.g. with Tensor.sum."
                        (Shape.show a.Shape)
                        a.Size
                )
            )

        a.At 0

    /// `float x` / C# `(double)x`: the value of a one-element tensor.
    static member op_Explicit(x: Tensor) : float =
        Guard.notNull "explicit conversion to float" "x" x
        x.ToScalar()

    /// C#: a double converts to a scalar tensor implicitly (so `Grad(f)(3.0)` works).
    static member op_Implicit(v: float) : Tensor = ConcreteTensor(v) :> Tensor

/// A tensor that holds its values: an NDArray, or a float64 scalar held as a number (the
/// scalar fast path's results), whose NDArray is made only when a kernel asks for one.
and [<Sealed>] internal ConcreteTensor private (aval: Aval, array: NDArray, value: float) =
    inherit Tensor(aval)
    // null for a held scalar until `Array` is first read; a race makes two equal arrays
    let mutable array = array

    new(array: NDArray) = ConcreteTensor(array.Aval, array, 0.0)

    /// A float64 scalar without an NDArray.
    new(value: float) = ConcreteTensor(NDArray.scalarAval, Unchecked.defaultof<NDArray>, value)

    /// The values as an array.
    member _.Array =
        if obj.ReferenceEquals(array, null) then
            array <- NDArray.scalar value

        array

    /// The value of a float64 scalar (the caller checked the aval).
    member _.ScalarValue =
        if obj.ReferenceEquals(array, null) then
            value
        else
            array.At 0

    override x.ToString() = Format.array x.Array

/// A tensor that stands for a value inside a transform. Its trace (its tag) is the trace
/// object itself, compared by reference.
and [<AbstractClass>] Tracer internal (trace: Trace, aval: Aval) =
    inherit Tensor(aval)

    /// The trace this tracer belongs to.
    member _.Trace = trace

    /// The concrete value, if this trace knows one (JVP: the primal).
    abstract ToConcrete: op: string -> NDArray

    /// What ToString shows of a live tracer: `Traced<f64[3]> in grad`, and a JVP tracer its
    /// primal. Never called once the trace has ended.
    abstract Describe: unit -> string

    default _.Describe() =
        sprintf "Traced<%O> in %s" aval trace.Transform

    /// `Traced<f64[3]> in grad` while the transform runs; an escaped tracer (its transform has
    /// returned) shows no value, since reading one raises EscapedTracerException.
    override t.ToString() =
        if trace.Alive then
            t.Describe()
        else
            sprintf
                "Traced<%O> in %s (escaped: %s has returned, so this tracer has no value; return it from the function instead of storing it)"
                aval
                trace.Transform
                trace.Transform

    /// Raises the escaped-tracer error if this tracer's trace has ended.
    member internal t.CheckAlive(op: string) =
        if not trace.Alive then
            raise (
                EscapedTracerException(
                    sprintf
                        "%s: a tracer of %s (aval %O) was used after %s returned. A value computed inside the function given to %s escaped it (stored in a mutable cell, a closure or a field) and was used later. Return it from the function instead."
                        op
                        trace.Transform
                        aval
                        trace.Transform
                        trace.Transform
                )
            )

/// An interpreter on the stack: it gives meaning to the primitives bound while it is current.
/// A trace processes a primitive only when one of the inputs is its own tracer; values of other,
/// enclosing traces are constants to it. It evaluates rules on its parent.
and [<AbstractClass; AllowNullLiteral>] Trace internal (parent: Trace, transform: string) =
    let mutable alive = true
    let mutable stagesEverything = false

    /// The trace below this one on the stack (null: concrete evaluation).
    member _.Parent = parent
    /// The user-facing transform this trace serves (`jvp`, `grad`, `makeIR`, ...), for errors.
    member _.Transform = transform
    /// False once the transform has returned: its tracers are then escaped.
    member _.Alive = alive
    /// Marks the trace dead; called when its transform returns.
    member internal _.Kill() = alive <- false

    /// True for makeIR's staging trace: while it is current it records every primitive, even one
    /// whose inputs are all known (JAX's omnistaging), so the program shows where constants come
    /// from. Other traces leave known work to their parent.
    member _.StagesEverything
        with get () = stagesEverything
        and internal set v = stagesEverything <- v

    /// Processes a primitive with at least one input tracer of this trace.
    abstract Process: prim: Primitive * inputs: Tensor[] * pars: Params -> Tensor[]

/// The interpreter stack and `bind`. The stack is an immutable linked list of traces (each
/// knows its parent) held in an AsyncLocal, so it follows `await` and isolates threads.
and [<AbstractClass; Sealed>] Interpreter private () =
    static let current = AsyncLocal<Trace>()
    static let debugNans = AsyncLocal<bool>()
    // the number of withDebugNans scopes open in the process: a cheap gate, so evaluation
    // outside any scope never reads the AsyncLocal
    static let mutable debugScopes = 0

    /// Whether NaN checking is on for the current execution context.
    static member DebuggingNans = Volatile.Read(&debugScopes) > 0 && debugNans.Value

    /// Runs `f` with NaN checking on (scoped: it follows await and does not leak to other
    /// threads that did not inherit this context).
    static member WithDebugNans(f: unit -> 'a) : 'a =
        Guard.notNull "withDebugNans" "f" f
        Interlocked.Increment(&debugScopes) |> ignore
        let saved = debugNans.Value
        debugNans.Value <- true

        try
            f ()
        finally
            debugNans.Value <- saved
            Interlocked.Decrement(&debugScopes) |> ignore

    /// Raises NanException if a float64 output of a concrete evaluation holds a NaN.
    /// int64 values are float64 whole numbers, exact only while |v| ≤ 2⁵³ − 1: a kernel whose
    /// int64 result leaves that range (overflowing arithmetic, a conversion of NaN, ∞ or 1e300)
    /// raises here, once for every primitive, instead of rounding silently.
    static member private CheckInt64Range(prim: Primitive, out: NDArray) =
        let data = out.Span
        let mutable i = 0

        while i < data.Length do
            let v = data.[i]

            if not (Math.Abs v <= 9007199254740991.0) then // 2^53 − 1; NaN fails too
                let what =
                    if Double.IsNaN v || Double.IsInfinity v then
                        sprintf "%s cannot be converted to int64" (Format.scalar Float64 v)
                    else
                        sprintf "the int64 result %.17g at flat index %d is beyond ±(2^53 − 1)" v i

                raise (
                    Int64RangeException(
                        sprintf
                            "%s: %s (output %O). FunDiff holds int64 exactly only within ±9007199254740991; convert to Float64 first (Tensor.convert Float64) to compute with larger or non-finite values."
                            prim.Name
                            what
                            out.Aval
                    )
                )

            i <- i + 1

    static member private CheckNans(prim: Primitive, inputs: NDArray[], outs: NDArray[]) =
        let hasNan (a: NDArray) =
            a.DType = Float64 && NDArray.findIndex Double.IsNaN a >= 0

        for o in outs do
            if hasNan o then
                let index = NDArray.findIndex Double.IsNaN o

                let describe (i: int) (a: NDArray) =
                    let values =
                        if a.Size <= 8 then
                            Format.array a
                        else
                            sprintf "(%d values)" a.Size

                    sprintf
                        "  operand %d: %O = %s%s"
                        i
                        a.Aval
                        values
                        (if hasNan a then "   <- already holds NaN" else "")

                let operands = inputs |> Array.mapi describe |> String.concat "\n"

                let within =
                    let names = ResizeArray<string>()
                    let mutable t = current.Value

                    while not (isNull t) do
                        // grad's staging and JVP traces carry one name: say it once
                        if names.Count = 0 || names.[names.Count - 1] <> t.Transform then
                            names.Add t.Transform

                        t <- t.Parent

                    if names.Count = 0 then
                        ""
                    else
                        sprintf " inside %s" (String.concat " inside " names)

                let origin =
                    if inputs |> Array.exists hasNan then
                        "a NaN reached it from an operand that came from outside the checked code"
                    else
                        "it produced the first NaN"

                raise (
                    NanException(
                        sprintf
                            "debugNans: %s returned NaN (flat index %d of its %O output)%s; %s.\n%s"
                            prim.Name
                            index
                            o.Aval
                            within
                            origin
                            operands
                    )
                )

    /// The current (innermost) trace; null means concrete evaluation.
    static member Current: Trace = current.Value

    /// Makes `trace` current and returns the previous current trace (restore it with Restore).
    static member internal Enter(trace: Trace) : Trace =
        let saved = current.Value
        current.Value <- trace
        saved

    /// Makes `saved` current again.
    static member internal Restore(saved: Trace) = current.Value <- saved

    /// Applies a primitive: the innermost trace that owns one of the inputs processes it; with
    /// none, it is evaluated on concrete arrays.
    static member Bind(prim: Primitive, inputs: Tensor[], pars: Params) : Tensor[] =
        let trace = Interpreter.Owner(prim, inputs, pars)

        if isNull trace then
            Interpreter.Evaluate(prim, inputs, pars)
        else
            trace.Process(prim, inputs, pars)

    /// Binds a primitive with one output. (Its own path, not `Bind(...).[0]`: a concrete scalar
    /// result then needs no one-element array, a third of the bytes of an evaluated primitive.)
    static member Bind1(prim: Primitive, inputs: Tensor[], pars: Params) : Tensor =
        let trace = Interpreter.Owner(prim, inputs, pars)

        if isNull trace then
            let result = Interpreter.EvaluateScalar(prim, inputs)

            if obj.ReferenceEquals(result, null) then
                (Interpreter.EvaluateArrays(prim, inputs, pars)).[0]
            else
                result
        else
            (trace.Process(prim, inputs, pars)).[0]

    /// Checks the operands and returns the trace that processes the primitive (null: concrete
    /// evaluation).
    static member private Owner(prim: Primitive, inputs: Tensor[], pars: Params) : Trace =
        Guard.notNull "bind" "prim" prim
        Guard.notNull prim.Name "inputs" inputs
        Guard.notNull prim.Name "pars" pars

        for x in inputs do
            match x with
            | :? Tracer as t -> t.CheckAlive prim.Name
            | _ ->
                // a null here came past every public check: still an argument error, not a crash
                if obj.ReferenceEquals(x, null) then
                    Guard.nullArgument prim.Name "inputs"

        // The innermost trace that owns an input processes the primitive; traces above it see
        // only constants. A rule therefore runs "on the parent" without switching the current
        // trace (an AsyncLocal write allocates): its inputs never belong to its own trace.
        // makeIR's trace claims everything that reaches it (omnistaging).
        let mutable trace = current.Value

        while not (isNull trace)
              && not trace.StagesEverything
              && not (Interpreter.Owns(trace, inputs)) do
            trace <- trace.Parent

        trace

    static member private Owns(trace: Trace, inputs: Tensor[]) =
        let mutable found = false

        for x in inputs do
            match x with
            | :? Tracer as t when Object.ReferenceEquals(t.Trace, trace) -> found <- true
            | _ -> ()

        found

    /// Concrete evaluation: the scalar fast path where it applies, else the general path.
    static member private Evaluate(prim: Primitive, inputs: Tensor[], pars: Params) : Tensor[] =
        let result = Interpreter.EvaluateScalar(prim, inputs)

        if obj.ReferenceEquals(result, null) then
            Interpreter.EvaluateArrays(prim, inputs, pars)
        else
            [| result |]

    /// Rank-0 float64 operands of an elementwise primitive: its scalar function applied to
    /// their values, bit-identical to the kernel (which applies the same function to a small
    /// array), without the general path's arrays, shape rule and kernel dispatch — most of the
    /// cost of a scalar loop. Null where it does not apply: other operands, or NaN debugging
    /// (whose report the general path makes).
    static member private EvaluateScalar(prim: Primitive, inputs: Tensor[]) : Tensor =
        let scalarOf (x: Tensor) =
            match x with
            | :? ConcreteTensor as c when c.Aval.Rank = 0 && c.Aval.DType = DType.Float64 -> ValueSome c.ScalarValue
            | _ -> ValueNone

        let wrap (v: float) = ConcreteTensor(v) :> Tensor
        let notApplicable = Unchecked.defaultof<Tensor>

        match prim.Scalar with
        | ScalarFunction.Unary f when inputs.Length = 1 && not Interpreter.DebuggingNans ->
            match scalarOf inputs.[0] with
            | ValueSome x -> wrap (f x)
            | ValueNone -> notApplicable
        | ScalarFunction.Binary f when inputs.Length = 2 && not Interpreter.DebuggingNans ->
            match scalarOf inputs.[0], scalarOf inputs.[1] with
            | ValueSome x, ValueSome y -> wrap (f x y)
            | _ -> notApplicable
        | _ -> notApplicable

    /// The general evaluation: check shapes, run the kernel.
    static member private EvaluateArrays(prim: Primitive, inputs: Tensor[], pars: Params) : Tensor[] =
        let arrays = Array.zeroCreate inputs.Length
        let avals = Array.zeroCreate inputs.Length

        for i in 0 .. inputs.Length - 1 do
            let a =
                match inputs.[i] with
                | :? ConcreteTensor as c -> c.Array
                | :? Tracer as t ->
                    raise (
                        EscapedTracerException(
                            sprintf
                                "%s: a tracer of %s (aval %O) was used outside that transform's function (on another thread or task that does not carry its interpreter stack, or after it returned). Compute with it only inside the function given to %s."
                                prim.Name
                                t.Trace.Transform
                                t.Aval
                                t.Trace.Transform
                        )
                    )
                | _ -> raise (FunDiffException "unknown kind of tensor")

            arrays.[i] <- a
            avals.[i] <- a.Aval

        prim.ShapeRule avals pars |> ignore
        let outs = prim.Impl arrays pars

        if Interpreter.DebuggingNans then
            Interpreter.CheckNans(prim, arrays, outs)

        for o in outs do
            if o.DType = DType.Int64 then
                Interpreter.CheckInt64Range(prim, o)

        // kernels read their inputs' raw buffers: the inputs must outlive the kernel, or the
        // pool could hand a buffer out again while it is being read
        GC.KeepAlive arrays

        let result = Array.zeroCreate outs.Length

        for i in 0 .. outs.Length - 1 do
            result.[i] <- ConcreteTensor(outs.[i]) :> Tensor

        result

/// The primitive-level operations: one `bind` each, with NumPy's dtype promotion and shape
/// broadcasting done here, in one place, before binding. Both the Tensor members below and
/// the `Tensor` module are written with these.
module internal Prim =
    open FunDiff.Primitives

    let inline private bind1 prim (inputs: Tensor[]) pars = Interpreter.Bind1(prim, inputs, pars)

    let ofArray (a: NDArray) = ConcreteTensor(a) :> Tensor
    let scalar (v: float) = ConcreteTensor(v) :> Tensor

    let convert (dtype: DType) (x: Tensor) =
        Guard.notNull "convert" "x" x

        if x.DType = dtype then
            x
        else
            bind1 convertElementTypeP [| x |] (Params [| "new_dtype", DType dtype |])

    let asFloat (x: Tensor) = convert Float64 x

    let floatUnary (prim: Primitive) (x: Tensor) =
        Guard.notNull prim.Name "x" x
        bind1 prim [| asFloat x |] Params.Empty

    let broadcastInDim (shape: int[]) (dims: int[]) (x: Tensor) =
        bind1 broadcastInDimP [| x |] (Params [| "shape", Ints shape; "broadcast_dimensions", Ints dims |])

    /// NumPy broadcasting of one tensor to a shape (trailing axes aligned).
    let broadcastTo (shape: int[]) (x: Tensor) =
        if Shape.equal x.Aval.Shape shape then
            x
        else
            Shape.checkBroadcastTo "broadcastTo" x.Aval.Shape shape
            let lead = shape.Length - x.Rank
            broadcastInDim shape (Array.init x.Rank (fun k -> lead + k)) x

    /// Promotes two operands to one dtype and broadcasts their shapes; rank-0 operands stay
    /// rank 0 (the kernels broadcast scalars without materializing them).
    /// (A struct pair: a reference tuple here was one allocation per binary operation.)
    let private prepare (op: string) (dtype: DType) (x: Tensor) (y: Tensor) =
        let x, y = convert dtype x, convert dtype y

        if x.Rank = 0 || y.Rank = 0 || Shape.equal x.Aval.Shape y.Aval.Shape then
            struct (x, y)
        else
            let shape = Shape.broadcast op x.Aval.Shape y.Aval.Shape
            struct (broadcastTo shape x, broadcastTo shape y)

    /// An arithmetic primitive: bools promote to int64; `div` always gives float64.
    let arithmetic (prim: Primitive) (x: Tensor) (y: Tensor) =
        Guard.notNull prim.Name "x" x
        Guard.notNull prim.Name "y" y

        let dtype =
            if Object.ReferenceEquals(prim, divP) then
                Float64
            else
                Shape.arithmeticDType x.DType y.DType

        let struct (x, y) = prepare prim.Name dtype x y
        bind1 prim [| x; y |] Params.Empty

    /// A comparison primitive; the result is a bool tensor.
    let compare (prim: Primitive) (x: Tensor) (y: Tensor) =
        Guard.notNull prim.Name "x" x
        Guard.notNull prim.Name "y" y
        let struct (x, y) = prepare prim.Name (Shape.promote x.DType y.DType) x y
        bind1 prim [| x; y |] Params.Empty

    let neg (x: Tensor) =
        Guard.notNull "neg" "x" x
        bind1 negP [| (if x.DType = Bool then convert DType.Int64 x else x) |] Params.Empty

    /// Whether `x ** c` of an integer tensor stays an integer (NumPy: a whole, non-negative
    /// exponent keeps int64; any other exponent gives float64).
    let private keepsInteger (c: float) (x: Tensor) =
        x.DType <> Float64 && Shape.isIntegerPower c

    /// x ** c; c = 1 is x itself and c = 0 is ones (IEEE: 0^0 = nan^0 = 1), neither staged.
    /// An int64 (or bool) `x` with a whole exponent c ≥ 0 stays int64, as in NumPy.
    let powConst (c: float) (x: Tensor) =
        Guard.notNull "pow" "x" x

        let x =
            if keepsInteger c x then
                convert DType.Int64 x
            else
                asFloat x

        if c = 1.0 then x
        elif c = 0.0 then ofArray (NDArray.uniform x.Aval 1.0)
        else bind1 powConstP [| x |] (Params [| "y", Float c |])

    /// Sums over the given axes (any order, negative allowed).
    let sumAxes (axes: int[]) (x: Tensor) =
        Guard.notNull "sum" "x" x
        let axes = Shape.normalizeAxes "sum" x.Rank axes

        if axes.Length = 0 then
            x
        else
            let x = if x.DType = Bool then convert DType.Int64 x else x
            bind1 reduceSumP [| x |] (Params [| "axes", Ints axes |])

    let sum (x: Tensor) = sumAxes (Array.init x.Rank id) x

    let reshape (shape: int[]) (x: Tensor) =
        Guard.notNull "reshape" "shape" shape
        Guard.notNull "reshape" "x" x
        let shape = Shape.inferReshape "reshape" x.Size shape

        if Shape.equal shape x.Aval.Shape then
            x
        else
            bind1 reshapeP [| x |] (Params [| "new_sizes", Ints shape |])

    let transpose (perm: int[]) (x: Tensor) =
        Guard.notNull "transpose" "perm" perm
        Guard.notNull "transpose" "x" x
        let perm = perm |> Array.map (Shape.normalizeAxis "transpose" x.Rank)
        Shape.checkPermutation "transpose" x.Rank perm

        if perm = Array.init x.Rank id then
            x
        else
            bind1 transposeP [| x |] (Params [| "permutation", Ints perm |])

    let slice (start: int[]) (limit: int[]) (x: Tensor) =
        if start |> Array.forall ((=) 0) && Shape.equal limit x.Aval.Shape then
            x
        else
            bind1 sliceP [| x |] (Params [| "start_indices", Ints start; "limit_indices", Ints limit |])

    /// Slices `[start, stop)` on one axis, NumPy-style clamped bounds with negatives from the end.
    let sliceAxis (axis: int) (start: int) (stop: int) (x: Tensor) =
        Guard.notNull "slice" "x" x
        let axis = Shape.normalizeAxis "slice" x.Rank axis
        let s, e = Shape.clampSlice x.Aval.Shape.[axis] start stop
        let starts = Array.zeroCreate x.Rank
        let limits = Array.copy x.Aval.Shape
        starts.[axis] <- s
        limits.[axis] <- e
        slice starts limits x

    let pad (low: int[]) (high: int[]) (x: Tensor) =
        if Array.forall ((=) 0) low && Array.forall ((=) 0) high then
            x
        else
            bind1 padP [| x |] (Params [| "low", Ints low; "high", Ints high |])

    /// The window params of `patches`/`patches_transpose`, one entry per spatial axis.
    let windowParams (window: int[]) (strides: int[]) (low: int[]) (high: int[]) (dilation: int[]) =
        Params
            [|
                "window", Ints window
                "strides", Ints strides
                "low", Ints low
                "high", Ints high
                "dilation", Ints dilation
            |]

    /// im2col over the trailing axes: lead ++ spatial to lead ++ window ++ out.
    let patches (window: Params) (x: Tensor) = bind1 patchesP [| x |] window

    /// col2im, patches' transpose: lead ++ window ++ out added back into lead ++ `spatial`.
    let patchesTranspose (spatial: int[]) (window: Params) (x: Tensor) =
        bind1 patchesTransposeP [| x |] (Params(Array.append window.Entries [| "spatial", Ints spatial |]))

    let concatenate (axis: int) (xs: Tensor[]) =
        Guard.notNullElements "concatenate" "xs" xs

        if xs.Length = 0 then
            raise (ShapeException "concatenate: needs at least one tensor.")

        let axis = Shape.normalizeAxis "concatenate" xs.[0].Rank axis

        if xs.Length = 1 then
            xs.[0]
        else
            let dtype = xs |> Array.map (fun x -> x.DType) |> Array.reduce Shape.promote
            bind1 concatenateP (xs |> Array.map (convert dtype)) (Params [| "dimension", Int axis |])

    /// Inserts a new axis of size 1 at `axis`.
    let expandDims (axis: int) (x: Tensor) =
        Guard.notNull "expandDims" "x" x
        let axis = Shape.normalizeAxis "expandDims" (x.Rank + 1) axis
        let shape = Array.insertAt axis 1 x.Aval.Shape
        reshape shape x

    /// Stacks tensors of one shape along a new axis.
    let stack (axis: int) (xs: Tensor[]) =
        Guard.notNullElements "stack" "xs" xs

        if xs.Length = 0 then
            raise (ShapeException "stack: needs at least one tensor.")

        Shape.checkSameShapes "stack" (xs |> Seq.map (fun x -> x.Aval.Shape))
        let axis = Shape.normalizeAxis "stack" (xs.[0].Rank + 1) axis
        concatenate axis (xs |> Array.map (expandDims axis))

    /// select_n with JAX's order: where `which` is false `onFalse`, else `onTrue`; broadcasts.
    let where (cond: Tensor) (onTrue: Tensor) (onFalse: Tensor) =
        Guard.notNull "where" "cond" cond
        Guard.notNull "where" "onTrue" onTrue
        Guard.notNull "where" "onFalse" onFalse
        let dtype = Shape.promote onTrue.DType onFalse.DType
        let onTrue, onFalse = convert dtype onTrue, convert dtype onFalse

        let shape =
            Shape.broadcast "where" (Shape.broadcast "where" cond.Aval.Shape onTrue.Aval.Shape) onFalse.Aval.Shape

        let cond =
            if cond.DType = Bool then
                cond
            else
                compare neP cond (scalar 0.0)

        bind1
            selectNP
            [|
                broadcastTo shape cond
                broadcastTo shape onFalse
                broadcastTo shape onTrue
            |]
            Params.Empty

    let stopGradient (x: Tensor) =
        Guard.notNull "stopGradient" "x" x
        bind1 stopGradientP [| x |] Params.Empty

    /// A float primitive of two operands: both converted to float64 and broadcast.
    let floatBinary (prim: Primitive) (x: Tensor) (y: Tensor) =
        Guard.notNull prim.Name "x" x
        Guard.notNull prim.Name "y" y
        let struct (x, y) = prepare prim.Name Float64 x y
        bind1 prim [| x; y |] Params.Empty

    /// x ** y: integers (int64 or bool) on both sides stay int64, as in NumPy (a negative
    /// exponent then raises); otherwise float64.
    let pow (x: Tensor) (y: Tensor) =
        Guard.notNull "pow" "x" x
        Guard.notNull "pow" "y" y

        let dtype =
            if x.DType <> Float64 && y.DType <> Float64 then
                DType.Int64
            else
                Float64

        let struct (x, y) = prepare powP.Name dtype x y
        bind1 powP [| x; y |] Params.Empty


    /// clamp(lo, x, hi) with scalar or broadcastable bounds.
    let clamp (lo: Tensor) (x: Tensor) (hi: Tensor) =
        Guard.notNull "clip" "x" x
        let dtype = Shape.arithmeticDType (Shape.promote lo.DType x.DType) hi.DType
        let lo, x, hi = convert dtype lo, convert dtype x, convert dtype hi

        let shape =
            Shape.broadcast "clip" (Shape.broadcast "clip" lo.Aval.Shape x.Aval.Shape) hi.Aval.Shape

        let fitBound (b: Tensor) =
            if b.Rank = 0 then b else broadcastTo shape b

        bind1 clampP [| fitBound lo; broadcastTo shape x; fitBound hi |] Params.Empty

    /// A reduction primitive over axes (any order, negative allowed); no axes is the identity.
    let reduce (prim: Primitive) (axes: int[]) (x: Tensor) =
        Guard.notNull prim.Name "x" x
        let axes = Shape.normalizeAxes prim.Name x.Rank axes

        if axes.Length = 0 then
            x
        else
            bind1 prim [| x |] (Params [| "axes", Ints axes |])

    /// argmax / argmin along one axis (int64).
    let argExtreme (prim: Primitive) (axis: int) (x: Tensor) =
        Guard.notNull prim.Name "x" x
        let axis = Shape.normalizeAxis prim.Name x.Rank axis
        bind1 prim [| x |] (Params [| "axis", Int axis |])

    /// Inclusive cumulative sum along an axis (from the end when `reverse`).
    let cumsum (axis: int) (reverse: bool) (x: Tensor) =
        Guard.notNull "cumsum" "x" x
        let axis = Shape.normalizeAxis "cumsum" x.Rank axis
        let x = if x.DType = Bool then convert DType.Int64 x else x
        bind1 cumsumP [| x |] (Params [| "axis", Int axis; "reverse", Int(if reverse then 1 else 0) |])

    /// Gathers along `axis` with indices that are already checked (int64, or float64 holding
    /// whole numbers): the rules and the composites use it. User-facing takes go through `take`.
    let gather (axis: int) (x: Tensor) (indices: Tensor) =
        bind1 gatherP [| x; convert DType.Int64 indices |] (Params [| "axis", Int axis |])

    /// The values of a tensor if they are known now: a concrete tensor's, or the primal's of a
    /// jvp/grad tracer; not those of a tracer that makeIR or linearize stages.
    let knownValues (op: string) (x: Tensor) : NDArray voption =
        match x with
        | :? ConcreteTensor as c -> ValueSome c.Array
        | _ ->
            try
                ValueSome(x.Concrete op)
            with :? ConcretizationException ->
                ValueNone

    /// Checks an index tensor before any work: int64, or float64 holding whole numbers (never
    /// bool); when its values are known (concrete, or the primal of a jvp/grad tracer), each in
    /// range for `where` (an axis of `n` elements). Unknown values (under makeIR) are checked by
    /// the gather kernel when the program runs. Returns whether the values were known.
    let checkIndices (op: string) (where: string) (n: int) (indices: Tensor) : bool =
        Guard.notNull op "indices" indices

        if indices.DType = Bool then
            raise (
                ShapeException(
                    sprintf
                        "%s: the indices are a bool tensor (shape %s); indices must be int64, or float64 holding whole numbers. For a mask, use Tensor.where."
                        op
                        (Shape.show indices.Aval.Shape)
                )
            )

        match knownValues op indices with
        | ValueSome values ->
            AxisKernels.checkIndexValues op where n values
            GC.KeepAlive values // its raw buffer was read (BufferPool)
            true
        | ValueNone -> false

    /// A checked take along a normalized axis, `where` describing it for errors. Float64
    /// indices whose values are not known now (under makeIR) are gathered as they are: the
    /// kernel checks that they are whole when the program runs, where a conversion to int64
    /// would truncate 1.5 to 1 silently.
    let takeAlong (op: string) (where: string) (axis: int) (x: Tensor) (indices: Tensor) =
        let known = checkIndices op where x.Aval.Shape.[axis] indices

        if indices.DType = Float64 && not known then
            bind1 gatherP [| x; indices |] (Params [| "axis", Int axis |])
        else
            gather axis x indices

    /// NumPy's take along an axis, checked: the one path of every user-facing take (the
    /// module's `take` and `takeAxis`, C#'s `x.Take(indices, axis)`), so they accept and reject
    /// the same indices, concrete or traced.
    let take (op: string) (axis: int) (x: Tensor) (indices: Tensor) =
        Guard.notNull op "x" x
        Guard.notNull op "indices" indices
        let axis = Shape.normalizeAxis op x.Rank axis
        takeAlong op (sprintf "axis %d of size %d" axis x.Aval.Shape.[axis]) axis x indices

    /// Adds slices of `updates` into an axis of size `size` at `indices` (gather's transpose).
    let scatterAdd (axis: int) (size: int) (updates: Tensor) (indices: Tensor) =
        bind1 scatterAddP [| updates; convert DType.Int64 indices |] (Params [| "axis", Int axis; "size", Int size |])

    /// lax.dot_general: contracting and batch dimensions of each operand.
    let dotGeneral
        (lhsContract: int[])
        (rhsContract: int[])
        (lhsBatch: int[])
        (rhsBatch: int[])
        (x: Tensor)
        (y: Tensor)
        =
        let dtype = Shape.arithmeticDType x.DType y.DType

        bind1
            dotGeneralP
            [| convert dtype x; convert dtype y |]
            (Params
                [|
                    "lhs_contracting", Ints lhsContract
                    "rhs_contracting", Ints rhsContract
                    "lhs_batch", Ints lhsBatch
                    "rhs_batch", Ints rhsBatch
                |])

    /// Zeros of an aval, as a concrete tensor: uniform (one value stored, no pass over the
    /// shape), so an instantiated symbolic-zero cotangent costs nothing until a kernel reads it.
    let zeros (aval: Aval) = ofArray (NDArray.uniform aval 0.0)

    /// Ones of an aval, as a concrete (uniform) tensor.
    let ones (aval: Aval) = ofArray (NDArray.uniform aval 1.0)

    /// The i-th standard basis tensor of an aval (1 at flat index i, 0 elsewhere).
    let basis (aval: Aval) (i: int) =
        let a = NDArray.full aval 0.0
        // a fresh array owns its whole buffer: the one write of a kernel-side array
        a.Buffer.[i] <- 1.0
        ofArray a

    /// Selects index `i` of axis 0 (one rank lower); negative counts from the end.
    let index (i: int) (x: Tensor) =
        Guard.notNull "index" "x" x

        if x.Rank = 0 then
            raise (
                ShapeException(
                    sprintf
                        "index: a scalar has no axis 0 to index (index %d). Use the scalar itself, or Tensor.toScalar for its value."
                        i
                )
            )

        let n = x.Aval.Shape.[0]
        let j = if i < 0 then i + n else i

        if j < 0 || j >= n then
            raise (ShapeException(sprintf "index: index %d is out of range for axis 0 of size %d." i n))

        let starts = Array.zeroCreate x.Rank
        let limits = Array.copy x.Aval.Shape
        starts.[0] <- j
        limits.[0] <- j + 1
        reshape x.Aval.Shape.[1..] (slice starts limits x)

    /// The F# slice `a..b` on one axis: both ends inclusive, as F# ranges are.
    let fsharpSlice (axis: int) (start: int option) (finish: int option) (x: Tensor) =
        Guard.notNull "slice" "x" x

        if axis >= x.Rank then
            raise (
                ShapeException(
                    sprintf
                        "slice: the slice expression indexes axis %d, but the tensor has shape %s (rank %d). Give at most %d index or range(s)."
                        axis
                        (Shape.show x.Aval.Shape)
                        x.Rank
                        x.Rank
                )
            )

        let n = x.Aval.Shape.[axis]
        let s = defaultArg start 0

        let e =
            match finish with
            | Some f -> f + 1
            | None -> n

        if s < 0 || e > n then
            raise (ShapeException(sprintf "slice: %d..%d is out of range for axis %d of size %d." s (e - 1) axis n))

        sliceAxis axis s (max s e) x

/// The operators, F# math functions and C# members of Tensor (intrinsic: they compile into the
/// type, so `sin x`, `x ** 2.0` and C#'s `x.Sin()` all resolve).
open FunDiff.Primitives

type Tensor with

    // ---- construction -------------------------------------------------------------------

    /// A float64 scalar (rank 0).
    static member Scalar(value: float) : Tensor = Prim.scalar value

    /// A 1-d float64 tensor holding a copy of the values.
    static member OfArray(values: float[]) : Tensor =
        Guard.notNull "OfArray" "values" values
        Prim.ofArray (NDArray.ofData [| values.Length |] Float64 (Array.copy values))

    /// C#: a 1-d tensor of the given values, `Tensor.Of(1.0, 2.0, 3.0)`.
    static member Of([<ParamArray>] values: float[]) : Tensor = Tensor.OfArray values

    /// A 2-d tensor holding a copy of a rectangular array.
    static member FromArray(values: float[,]) : Tensor =
        Guard.notNull "FromArray" "values" values
        let r, c = Array2D.length1 values, Array2D.length2 values
        Prim.ofArray (NDArray.ofData [| r; c |] Float64 (Array.init (r * c) (fun i -> values.[i / c, i % c])))

    /// A tensor of the given shape with every element equal to `value`.
    static member Full(shape: int[], value: float) : Tensor =
        Guard.notNull "full" "shape" shape
        Shape.checkDimensions "full" shape
        Prim.ofArray (NDArray.uniform (Aval(Array.copy shape, Float64)) value)

    /// Zeros of the given shape.
    static member Zeros([<ParamArray>] shape: int[]) : Tensor =
        Guard.notNull "Zeros" "shape" shape
        Shape.checkDimensions "Zeros" shape
        Tensor.Full(shape, 0.0)

    /// Ones of the given shape.
    static member Ones([<ParamArray>] shape: int[]) : Tensor =
        Guard.notNull "Ones" "shape" shape
        Shape.checkDimensions "Ones" shape
        Tensor.Full(shape, 1.0)

    /// `[0., 1., ..., n-1.]` (float64).
    static member Arange(n: int) : Tensor =
        if n < 0 then
            raise (ShapeException(sprintf "arange: n = %d must be non-negative." n))

        // the size check every constructor shares (zeros, full, eye, ...): too many elements is
        // a ShapeException naming the constructor, not an OutOfMemoryException
        Shape.checkDimensions "arange" [| n |]
        Tensor.OfArray(Array.init n float)

    /// `n` evenly spaced values from `start` to `stop`, both included (NumPy's linspace).
    static member Linspace(start: float, stop: float, n: int) : Tensor =
        if n < 0 then
            raise (ShapeException(sprintf "linspace: n = %d must be non-negative." n))

        Shape.checkDimensions "linspace" [| n |]
        let step = if n > 1 then (stop - start) / float (n - 1) else 0.0
        Tensor.OfArray(Array.init n (fun i -> if i = n - 1 && n > 1 then stop else start + step * float i))

    /// The n × n identity matrix.
    static member Eye(n: int) : Tensor =
        if n < 0 then
            raise (ShapeException(sprintf "eye: n = %d must be non-negative." n))

        Shape.checkDimensions "eye" [| n; n |]

        Prim.ofArray (
            NDArray.ofData [| n; n |] Float64 (Array.init (n * n) (fun i -> if i / n = i % n then 1.0 else 0.0))
        )

    /// C#: stacks tensors of one shape along a new axis 0, `Tensor.Stack(a, b)` has shape
    /// `[2] ++ a.Shape` (F#: `Tensor.stack`). Differentiable.
    static member Stack([<ParamArray>] tensors: Tensor[]) : Tensor = Tensor.StackAxis(0, tensors)

    /// C#: stacks tensors of one shape along a new axis at `axis` (-(rank+1)..rank).
    static member StackAxis(axis: int, [<ParamArray>] tensors: Tensor[]) : Tensor =
        Guard.notNullElements "Stack" "tensors" tensors

        if tensors.Length = 0 then
            raise (ShapeException "Stack: no tensors; Stack needs at least one (the result's shape comes from them).")

        Prim.stack axis tensors

    /// C#: joins tensors along an existing axis, `Tensor.Concat(0, a, b)`; dtypes promote
    /// (F#: `Tensor.concat`). Differentiable.
    static member Concat(axis: int, [<ParamArray>] tensors: Tensor[]) : Tensor =
        Guard.notNullElements "Concat" "tensors" tensors

        if tensors.Length = 0 then
            raise (ShapeException "Concat: no tensors; Concat needs at least one.")

        if tensors.[0].Rank = 0 then
            raise (
                ShapeException
                    "Concat: tensor 0 is a scalar, which has no axis to join along. Use Tensor.Stack to join scalars into a vector."
            )

        Prim.concatenate axis tensors

    // ---- arithmetic operators -------------------------------------------------------------

    /// Elementwise sum with NumPy broadcasting.
    static member (+)(x: Tensor, y: Tensor) = Prim.arithmetic addP x y

    /// Adds a number to every element.
    static member (+)(x: Tensor, y: float) = Prim.arithmetic addP x (Prim.scalar y)

    /// Adds a number to every element.
    static member (+)(x: float, y: Tensor) = Prim.arithmetic addP (Prim.scalar x) y

    /// Elementwise difference with NumPy broadcasting.
    static member (-)(x: Tensor, y: Tensor) = Prim.arithmetic subP x y

    /// Subtracts a number from every element.
    static member (-)(x: Tensor, y: float) = Prim.arithmetic subP x (Prim.scalar y)

    /// A number minus every element.
    static member (-)(x: float, y: Tensor) = Prim.arithmetic subP (Prim.scalar x) y

    /// Elementwise product with NumPy broadcasting.
    static member (*)(x: Tensor, y: Tensor) = Prim.arithmetic mulP x y

    /// Multiplies every element by a number.
    static member (*)(x: Tensor, y: float) = Prim.arithmetic mulP x (Prim.scalar y)

    /// Multiplies every element by a number.
    static member (*)(x: float, y: Tensor) = Prim.arithmetic mulP (Prim.scalar x) y

    /// Elementwise true division with NumPy broadcasting (always float64).
    static member (/)(x: Tensor, y: Tensor) = Prim.arithmetic divP x y

    /// Divides every element by a number.
    static member (/)(x: Tensor, y: float) = Prim.arithmetic divP x (Prim.scalar y)

    /// A number divided by every element.
    static member (/)(x: float, y: Tensor) = Prim.arithmetic divP (Prim.scalar x) y

    /// Elementwise negation.
    static member (~-)(x: Tensor) = Prim.neg x

    /// `x ** c` for a constant exponent: a primitive with `c` as a param, so at negative `x`
    /// the derivative of `x ** 2.0` is `2x` (no log is formed).
    static member Pow(x: Tensor, c: float) = Prim.powConst c x
    /// `x ** n` for an integer exponent.
    static member Pow(x: Tensor, n: int) = Prim.powConst (float n) x

    /// `x ** y` with a tensor exponent (broadcasting). d/dy xʸ at x = 0 is 0 for y > 0, not NaN.
    static member Pow(x: Tensor, y: Tensor) = Prim.pow x y

    // ---- F# math functions (`sin x` resolves to these) ---------------------------------

    /// Elementwise sine.
    static member Sin(x: Tensor) = Prim.floatUnary sinP x
    /// Elementwise cosine.
    static member Cos(x: Tensor) = Prim.floatUnary cosP x
    /// Elementwise e^x.
    static member Exp(x: Tensor) = Prim.floatUnary expP x
    /// Elementwise natural logarithm.
    static member Log(x: Tensor) = Prim.floatUnary logP x
    /// Elementwise square root (its derivative at 0 is infinite).
    static member Sqrt(x: Tensor) = Prim.floatUnary sqrtP x
    /// Elementwise hyperbolic tangent.
    static member Tanh(x: Tensor) = Prim.floatUnary tanhP x

    /// Elementwise tangent.
    static member Tan(x: Tensor) = Prim.floatUnary tanP x
    /// Elementwise arcsine (|x| ≤ 1).
    static member Asin(x: Tensor) = Prim.floatUnary asinP x
    /// Elementwise arccosine (|x| ≤ 1).
    static member Acos(x: Tensor) = Prim.floatUnary acosP x
    /// Elementwise arctangent.
    static member Atan(x: Tensor) = Prim.floatUnary atanP x
    /// Elementwise hyperbolic sine.
    static member Sinh(x: Tensor) = Prim.floatUnary sinhP x
    /// Elementwise hyperbolic cosine.
    static member Cosh(x: Tensor) = Prim.floatUnary coshP x

    /// Elementwise absolute value (its derivative at 0 is 0).
    static member Abs(x: Tensor) =
        Guard.notNull "abs" "x" x

        Interpreter.Bind1(absP, [| (if x.DType = Bool then Prim.convert DType.Int64 x else x) |], Params.Empty)

    /// atan2(y, x) elementwise: the angle of the point (x, y), with broadcasting.
    static member Atan2(y: Tensor, x: Tensor) =
        Guard.notNull "atan2" "y" y
        Guard.notNull "atan2" "x" x
        Prim.floatBinary atan2P y x

    // ---- C# instance members ---------------------------------------------------------------

    /// Elementwise sine.
    member x.Sin() = Tensor.Sin x
    /// Elementwise cosine.
    member x.Cos() = Tensor.Cos x
    /// Elementwise e^x.
    member x.Exp() = Tensor.Exp x
    /// Elementwise natural logarithm.
    member x.Log() = Tensor.Log x
    /// Elementwise square root.
    member x.Sqrt() = Tensor.Sqrt x
    /// Elementwise hyperbolic tangent.
    member x.Tanh() = Tensor.Tanh x
    /// Elementwise x².
    member x.Square() = Prim.powConst 2.0 x
    /// `x ** c` for a constant exponent.
    member x.Pow(c: float) = Prim.powConst c x
    /// `x ** y` elementwise (x > 0).
    member x.Pow(y: Tensor) = Tensor.Pow(x, y)
    /// Elementwise tangent.
    member x.Tan() = Tensor.Tan x
    /// Elementwise arcsine.
    member x.Asin() = Tensor.Asin x
    /// Elementwise arccosine.
    member x.Acos() = Tensor.Acos x
    /// Elementwise arctangent.
    member x.Atan() = Tensor.Atan x
    /// Elementwise hyperbolic sine.
    member x.Sinh() = Tensor.Sinh x
    /// Elementwise hyperbolic cosine.
    member x.Cosh() = Tensor.Cosh x
    /// Elementwise absolute value.
    member x.Abs() = Tensor.Abs x

    /// Elementwise sign: -1, 0 or 1.
    member x.Sign() =
        Interpreter.Bind1(signP, [| (if x.DType = Bool then Prim.convert DType.Int64 x else x) |], Params.Empty)

    /// Elementwise log(1 + x), accurate near 0.
    member x.Log1p() = Prim.floatUnary log1pP x
    /// Elementwise e^x − 1, accurate near 0.
    member x.Expm1() = Prim.floatUnary expm1P x
    /// Elementwise logistic sigmoid 1 / (1 + e^−x).
    member x.Sigmoid() = Prim.floatUnary logisticP x
    /// Elementwise error function.
    member x.Erf() = Prim.floatUnary erfP x
    /// atan2(this, x): the angle of the point (x, this).
    member y.Atan2(x: Tensor) = Tensor.Atan2(y, x)
    /// The elementwise larger of two tensors (broadcasting; the derivative splits at ties).
    member x.Maximum(y: Tensor) = Prim.arithmetic maxP x y
    /// The elementwise smaller of two tensors (broadcasting; the derivative splits at ties).
    member x.Minimum(y: Tensor) = Prim.arithmetic minP x y

    /// Limits every element to [lo, hi] (the derivative is 0 outside and at the bounds).
    member x.Clip(lo: float, hi: float) =
        if Double.IsNaN lo || Double.IsNaN hi || lo > hi then
            raise (
                ShapeException(
                    sprintf
                        "Clip: the bounds lo = %g and hi = %g must be numbers with lo <= hi (use infinity for no bound)."
                        lo
                        hi
                )
            )

        Prim.clamp (Prim.scalar lo) x (Prim.scalar hi)

    /// The largest element (a scalar).
    member x.Max() =
        Prim.reduce reduceMaxP (Array.init x.Rank id) x

    /// The largest element along one axis.
    member x.Max(axis: int) =
        Prim.reduce reduceMaxP [| Shape.normalizeAxis "Max" x.Rank axis |] x

    /// The smallest element (a scalar).
    member x.Min() =
        Prim.reduce reduceMinP (Array.init x.Rank id) x

    /// The smallest element along one axis.
    member x.Min(axis: int) =
        Prim.reduce reduceMinP [| Shape.normalizeAxis "Min" x.Rank axis |] x

    /// The product of all elements (a scalar).
    member x.Prod() =
        Prim.reduce reduceProdP (Array.init x.Rank id) x

    /// The product along one axis.
    member x.Prod(axis: int) =
        Prim.reduce reduceProdP [| Shape.normalizeAxis "Prod" x.Rank axis |] x

    /// The flat index of the first largest element (int64 scalar).
    member x.ArgMax() =
        Prim.argExtreme argmaxP 0 (Prim.reshape [| x.Size |] x)

    /// The index of the first largest element along an axis (int64).
    member x.ArgMax(axis: int) = Prim.argExtreme argmaxP axis x

    /// The flat index of the first smallest element (int64 scalar).
    member x.ArgMin() =
        Prim.argExtreme argminP 0 (Prim.reshape [| x.Size |] x)

    /// The index of the first smallest element along an axis (int64).
    member x.ArgMin(axis: int) = Prim.argExtreme argminP axis x

    /// The cumulative sum along an axis.
    member x.CumSum(axis: int) = Prim.cumsum axis false x
    /// The elements at int64 `indices` along an axis (NumPy's take).
    member x.Take(indices: Tensor, axis: int) = Prim.take "Take" axis x indices
    /// The sum of all elements (a scalar).
    member x.Sum() = Prim.sum x
    /// The sum over one axis (negative counts from the end).
    member x.Sum(axis: int) = Prim.sumAxes [| axis |] x

    /// The mean of all elements.
    member x.Mean() =
        Prim.sum (Prim.convert Float64 x) / float x.Size

    /// The same values in a new shape (one dimension may be -1).
    member x.Reshape([<ParamArray>] shape: int[]) = Prim.reshape shape x
    /// The axes reversed (the matrix transpose for rank 2).
    member x.T = Prim.transpose (Array.init x.Rank (fun k -> x.Rank - 1 - k)) x

    /// `x.[i]`: index `i` of axis 0, one rank lower; negative `i` counts from the end.
    member x.Item
        with get (i: int) = Prim.index i x

    /// The size of axis 0 (NumPy's `len`); raises ShapeException for a scalar. With `Slice` it
    /// gives C# its index and range syntax: `x[^1]`, `x[1..]`, `x[..^1]`.
    member x.Length =
        if x.Rank = 0 then
            raise (ShapeException "Length: a scalar has no axis 0. Length is the size of the first axis.")

        x.Aval.Shape.[0]

    /// `length` elements of axis 0 from `start` (.NET's `Slice(start, length)` convention; C#
    /// lowers `x[a..b]` to `x.Slice(a, b - a)`). Raises ShapeException if they are out of range.
    member x.Slice(start: int, length: int) =
        let n = x.Length

        if start < 0 || length < 0 || start + length > n then
            raise (
                ShapeException(
                    sprintf "Slice: %d elements from %d are out of range for axis 0 of size %d." length start n
                )
            )

        Prim.sliceAxis 0 start (start + length) x

/// F# slicing of tensors: optional extensions (`open FunDiff` brings them), not intrinsic
/// members, because F#'s slice protocol passes `int option` bounds and C# must see no F# type
/// on Tensor.
[<AutoOpen>]
module TensorSlicing =
    type Tensor with

        /// F# slicing `x.[a..b]` on axis 0; `b` is included, as in F# ranges.
        member x.GetSlice(start: int option, finish: int option) = Prim.fsharpSlice 0 start finish x

        /// F# slicing `x.[a..b, c..d]` on axes 0 and 1; ends included.
        member x.GetSlice(start0: int option, finish0: int option, start1: int option, finish1: int option) =
            Prim.fsharpSlice 1 None None x |> ignore // checks the rank before any work
            x |> Prim.fsharpSlice 0 start0 finish0 |> Prim.fsharpSlice 1 start1 finish1

        /// `x.[i, a..b]`: row `i`, columns a..b (included).
        member x.GetSlice(i: int, start1: int option, finish1: int option) =
            (x |> Prim.fsharpSlice 1 start1 finish1).[i]
