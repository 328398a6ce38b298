/// NaN propagation, swept over every public op of the `Tensor` module by reflection: each
/// tensor operand in turn is all NaN (the others finite) and the op must give what IEEE 754
/// and NumPy give — a NaN in a float result — or one of the documented exceptions below
/// (comparisons are false, NaN is truthy, an index or a label that is NaN raises). A new op
/// is swept as soon as it is public; one that loses a NaN fails here.
module FunDiff.Tests.NanPropagationTests

open System
open System.Reflection
open Xunit
open FunDiff

/// What an op gives when one operand is all NaN, when that is not a NaN in its float output.
type private Expected =
    /// A float64 output with at least one NaN (the default).
    | PropagatesNaN
    /// A FunDiffException (a NaN where only numbers make sense: an index, a label, an int64).
    | Raises
    /// Exactly these values (IEEE comparisons, NumPy's truthiness and arg-reductions).
    | Values of float[]

let private finite = [| 0.5; 1.5; 2.5 |]

/// Documented outcomes other than propagation, by op name and operand position.
let private exceptions: Map<string * int, Expected> =
    Map.ofList
        [
            // IEEE: every ordered comparison with NaN is false, ≠ is true (NumPy too)
            ("lt", 0), Values [| 0.0; 0.0; 0.0 |]
            ("lt", 1), Values [| 0.0; 0.0; 0.0 |]
            ("le", 0), Values [| 0.0; 0.0; 0.0 |]
            ("le", 1), Values [| 0.0; 0.0; 0.0 |]
            ("gt", 0), Values [| 0.0; 0.0; 0.0 |]
            ("gt", 1), Values [| 0.0; 0.0; 0.0 |]
            ("ge", 0), Values [| 0.0; 0.0; 0.0 |]
            ("ge", 1), Values [| 0.0; 0.0; 0.0 |]
            ("eq", 0), Values [| 0.0; 0.0; 0.0 |]
            ("eq", 1), Values [| 0.0; 0.0; 0.0 |]
            ("ne", 0), Values [| 1.0; 1.0; 1.0 |]
            ("ne", 1), Values [| 1.0; 1.0; 1.0 |]
            // NaN is truthy (NumPy's bool(nan)): a NaN condition selects the first branch,
            // and a NaN in the branch not selected does not show
            ("where", 0), Values finite
            ("where", 2), Values finite
            // NumPy's argmax/argmin return the first NaN's index
            ("argmax", 0), Values [| 0.0 |]
            ("argmin", 0), Values [| 0.0 |]
            ("argmaxAxis", 1), Values [| 0.0 |]
            ("argminAxis", 1), Values [| 0.0 |]
            // a NaN index or label is not a position: it raises (ShapeException)
            ("take", 0), Raises
            ("takeAxis", 1), Raises
            ("oneHot", 1), Raises
            ("takeAlongAxis", 1), Raises
            ("atSet", 0), Raises
            ("atAdd", 0), Raises
            ("atMul", 0), Raises
            ("atMin", 0), Raises
            ("atMax", 0), Raises
            // every position overwritten (indices 0, 1, 2): x's NaN is gone, as in JAX
            ("atSet", 2), Values finite
            // a mask is bool: the float samples raise, whichever operand is NaN
            ("extract", 0), Raises
            ("extract", 1), Raises
            // the index tensors of indexWith must hold whole numbers: NaN and the samples raise
            ("indexWith", 0), Raises
            ("indexWith", 1), Raises
            // NumPy sorts NaN last: its positions are still positions (int64)
            ("argsort", 0), Values [| 0.0; 1.0; 2.0 |]
            ("argsortAxis", 1), Values [| 0.0; 1.0; 2.0 |]
            // every number goes before a NaN of the sorted vector; a NaN query goes at the end
            ("searchsorted", 0), Values [| 0.0; 0.0; 0.0 |]
            ("searchsorted", 1), Values [| 3.0; 3.0; 3.0 |]
            ("searchsortedRight", 0), Values [| 0.0; 0.0; 0.0 |]
            ("searchsortedRight", 1), Values [| 3.0; 3.0; 3.0 |]
            // the floating-point tests answer for NaN, and nanToNum replaces it (issue 16)
            ("isnan", 0), Values [| 1.0; 1.0; 1.0 |]
            ("isinf", 0), Values [| 0.0; 0.0; 0.0 |]
            ("isfinite", 0), Values [| 0.0; 0.0; 0.0 |]
            ("nanToNum", 0), Values [| 0.0; 0.0; 0.0 |]
            ("nanToNumWith", 3), Values [| -1.0; -1.0; -1.0 |]
        ]

/// Ops whose swept operand is a float64 finite sample but whose output is integral by design.
let private indexOperands =
    set
        [
            "take", 0
            "takeAxis", 1
            "oneHot", 1
            "takeAlongAxis", 1
            "atSet", 0
            "atAdd", 0
            "atMul", 0
            "atMin", 0
            "atMax", 0
        ]

let private tensorModule =
    typeof<Tensor>.Assembly.GetType("FunDiff.TensorModule", true)

/// The value of a non-tensor parameter, chosen by its name so that the op is valid on the
/// samples (length-3 vectors; `trace` gets a 3×3 matrix).
let private argumentFor (op: string) (p: ParameterInfo) : obj =
    match p.Name, p.ParameterType with
    | "shape", _ when op = "broadcastTo" -> box [| 2; 3 |]
    | "shape", _ -> box [| 3 |]
    | "perm", _ -> box [| 0 |]
    | "axes", _ -> box [ 0 ]
    | "axis", _ -> box 0
    | "start", _ -> box 0
    | "stop", _ -> box 2
    | "i", _ -> box 1
    | "sections", _ -> box 1
    | "n", _ when op = "tensordotN" -> box 1
    | "n", _ when op = "diff" -> box 1
    | "n", _ -> box 3
    | "subscripts", _ -> box "i,i->i"
    | "axesA", _
    | "axesB", _ -> box [ 0 ]
    | "c", _ -> box 0.5
    | "lo", _ -> box -1.0
    | "hi", _ -> box 4.0
    | "dtype", _ -> box Float64
    | "nan", _ -> box -1.0
    | "widths", _ -> box [ (1, 2) ]
    | "value", _ -> box 0.0
    | "reps", _ -> box [| 2 |]
    | "shift", _ -> box 1
    | "repeats", _ -> box 2
    | "counts", _ -> box [ 1; 0; 2 ]
    | "posinf", _ -> box 9.0
    | "neginf", _ -> box -9.0
    | "window", _ -> box [ 3 ]
    | "options", t when t = typeof<ConvOptions> -> box ConvOptions.Default
    | "options", t when t = typeof<ConvTransposeOptions> -> box ConvTransposeOptions.Default
    | "options", t when t = typeof<PoolOptions> -> box PoolOptions.Default
    | name, t -> failwithf "NaN sweep: no sample for parameter %s : %s of %s; add one." name t.Name op

let private sample (op: string) (values: float[]) =
    let t = Tensor.ofArray values

    match op with
    | "trace" -> Tensor.outer t (Tensor.ones [| 3 |])
    | "squeezeAxis" -> Tensor.reshape [| 1; 3 |] t
    // a batch of one single-channel signal, and a one-channel kernel of three taps
    | "conv"
    | "convWith"
    | "convTranspose"
    | "convTransposeWith" -> Tensor.reshape [| 1; 1; 3 |] t
    | _ -> t

/// The ops swept: every public function of the Tensor module with a tensor operand that
/// returns a tensor (or tensors).
let private sweptOps () =
    tensorModule.GetMethods(BindingFlags.Public ||| BindingFlags.Static)
    |> Array.filter (fun m ->
        (m.ReturnType = typeof<Tensor> || m.ReturnType = typeof<Tensor list>)
        && m.GetParameters()
           |> Array.exists (fun p -> p.ParameterType = typeof<Tensor> || p.ParameterType = typeof<Tensor list>))
    |> Array.sortBy (fun m -> m.Name)

let private outputs (result: obj) =
    match result with
    | :? Tensor as t -> [ t ]
    | :? (Tensor list) as ts -> ts
    | other -> failwithf "unexpected result %O" other

/// Runs op with operand `nanAt` all NaN; None when it behaves as expected, else the reason.
let private check (m: MethodInfo) (nanAt: int) =
    let parameters = m.GetParameters()

    let args =
        parameters
        |> Array.mapi (fun k p ->
            let values =
                if k = nanAt then
                    Array.create 3 nan
                elif indexOperands.Contains(m.Name, k) then
                    [| 0.0; 1.0; 2.0 |]
                else
                    finite

            if p.ParameterType = typeof<Tensor> then
                box (sample m.Name values)
            elif p.ParameterType = typeof<Tensor list> then
                box [ sample m.Name values; sample m.Name finite ]
            else
                argumentFor m.Name p)

    let expected =
        exceptions |> Map.tryFind (m.Name, nanAt) |> Option.defaultValue PropagatesNaN

    let outcome =
        try
            Ok(outputs (m.Invoke(null, args)))
        with :? TargetInvocationException as e ->
            Error e.InnerException

    match expected, outcome with
    | Raises, Error(:? FunDiffException) -> None
    | Raises, Ok ys -> Some(sprintf "returned %A instead of raising" (ys |> List.map Tensor.toArray))
    | _, Error e -> Some(sprintf "raised %s: %s" (e.GetType().Name) e.Message)
    | PropagatesNaN, Ok ys ->
        let floats = ys |> List.filter (fun y -> y.DType = Float64)

        if floats.IsEmpty then
            Some(
                sprintf
                    "gave no float64 output (%s); classify it in `exceptions`"
                    (ys |> List.map (fun y -> string y.Aval) |> String.concat ", ")
            )
        elif floats |> List.exists (fun y -> Tensor.toArray y |> Array.exists Double.IsNaN) then
            None
        else
            Some(sprintf "lost the NaN: %A" (floats |> List.map Tensor.toArray))
    | Values v, Ok [ y ] when Tensor.toArray y = v -> None
    | Values v, Ok ys -> Some(sprintf "gave %A, expected %A" (ys |> List.map Tensor.toArray) v)

[<Fact>]
let ``every public op propagates a NaN in each of its operands, as IEEE and NumPy do`` () =
    let ops = sweptOps ()
    Assert.True(ops.Length > 80, sprintf "the sweep found only %d ops; is the module name right?" ops.Length)

    let failures =
        [
            for m in ops do
                for k, p in Array.indexed (m.GetParameters()) do
                    if p.ParameterType = typeof<Tensor> || p.ParameterType = typeof<Tensor list> then
                        match check m k with
                        | Some reason -> sprintf "%s, NaN in operand %s: %s" m.Name p.Name reason
                        | None -> ()
        ]

    if not failures.IsEmpty then
        failwithf "%d op(s) mishandle NaN:\n%s" failures.Length (String.concat "\n" failures)

[<Fact>]
let ``the reproducers: relu and norm of NaN are NaN, and withDebugNans sees them`` () =
    let relu = Tensor.toArray (Tensor.relu (Tensor.ofArray [| nan |]))
    Assert.True(Double.IsNaN relu.[0])
    Assert.True(Double.IsNaN(float (Tensor.norm (Tensor.ofArray [| nan; 1.0 |]))))
    Assert.True(Double.IsNaN(float (Tensor.std (Tensor.ofArray [| nan; 1.0 |]))))

    Assert.Throws<NanException>(fun () ->
        Diff.withDebugNans (fun () -> Tensor.relu (Tensor.ofArray [| nan |])) |> ignore)
    |> ignore
