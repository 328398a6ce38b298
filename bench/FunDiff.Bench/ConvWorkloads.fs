/// The convolution and pooling rows (table 20): typical CNN layers by FunDiff (eager, jit, grad)
/// beside ONNX Runtime's CPU Conv and MaxPool on one thread, on the same data, checked to agree
/// before timing; and a rough profile of FunDiff's convolution (im2col copy, the dot_general as
/// the convolution calls it, the GEMM alone, the output transpose). ONNX Runtime needs a model:
/// the one-node ModelProto is encoded here by hand (protobuf wire format, no onnx package).
module FunDiff.Bench.ConvWorkloads

open System
open System.IO
open System.Reflection
open FunDiff
open FunDiff.Backend
open FunDiff.Bench.QuickRunner
open FunDiff.Bench.Units
open FunDiff.Bench.Workloads
open Microsoft.ML.OnnxRuntime

/// One layer: a 2-d convolution (or a max pooling when Pool) over an NCHW input.
type Layer =
    {
        Key: string
        Label: string
        N: int
        C: int
        /// Output channels (= C for pooling).
        O: int
        Size: int
        /// The kernel's (or pooling window's) side.
        K: int
        Stride: int
        Groups: int
        Pool: bool
    }

    member l.OutSize = (l.Size + l.Stride - 1) / l.Stride

    /// Multiply-adds × 2 of the convolution (0 for pooling).
    member l.Flops =
        if l.Pool then
            0.0
        else
            2.0
            * float l.N
            * float l.O
            * float (l.C / l.Groups * l.K * l.K)
            * float (l.OutSize * l.OutSize)

/// The rows: 3×3 kernels, Same padding, stride 1, unless the label says otherwise.
let layers =
    [
        {
            Key = "c16"
            Label = "conv N=8, C 16→32, 32×32"
            N = 8
            C = 16
            O = 32
            Size = 32
            K = 3
            Stride = 1
            Groups = 1
            Pool = false
        }
        {
            Key = "c32s2"
            Label = "conv N=8, C 32→64, 16×16, stride 2"
            N = 8
            C = 32
            O = 64
            Size = 16
            K = 3
            Stride = 2
            Groups = 1
            Pool = false
        }
        {
            Key = "c64"
            Label = "conv N=1, C 64→64, 56×56"
            N = 1
            C = 64
            O = 64
            Size = 56
            K = 3
            Stride = 1
            Groups = 1
            Pool = false
        }
        {
            Key = "dw32"
            Label = "depthwise conv N=8, C 32, 32×32, groups 32"
            N = 8
            C = 32
            O = 32
            Size = 32
            K = 3
            Stride = 1
            Groups = 32
            Pool = false
        }
        {
            Key = "pool"
            Label = "maxPool 2×2 (stride 2), N=8, C 32, 32×32"
            N = 8
            C = 32
            O = 32
            Size = 32
            K = 2
            Stride = 2
            Groups = 1
            Pool = true
        }
    ]

/// Same padding (JAX's SAME) of one spatial axis: (before, after).
let private samePadding (l: Layer) =
    let total = max 0 ((l.OutSize - 1) * l.Stride + l.K - l.Size)
    total / 2, total - total / 2

let private convOptions (l: Layer) =
    { ConvOptions.Default with
        Strides = [| l.Stride |]
        Padding = ConvPadding.Same
        Groups = l.Groups
    }

let private inputShape (l: Layer) = [| l.N; l.C; l.Size; l.Size |]
let private kernelShape (l: Layer) = [| l.O; l.C / l.Groups; l.K; l.K |]

/// Deterministic inputs: x in [−1, 1), w in [−1, 1) / √taps.
let private data (l: Layer) =
    let r = Random(17 + l.Size + l.C)

    let x =
        Array.init (Array.reduce (*) (inputShape l)) (fun _ -> 2.0 * r.NextDouble() - 1.0)

    let taps = float (l.C / l.Groups * l.K * l.K)

    let w =
        Array.init (Array.reduce (*) (kernelShape l)) (fun _ -> (2.0 * r.NextDouble() - 1.0) / sqrt taps)

    x, w

let private tensor (shape: int[]) (values: float[]) =
    Tensor.reshape shape (Tensor.ofArray values)

/// FunDiff's forward of a layer.
let forward (l: Layer) (w: Tensor) (x: Tensor) =
    if l.Pool then
        Tensor.maxPool [ l.K; l.K ] x
    else
        Tensor.convWith (convOptions l) x w

// ---- the ONNX model, protobuf by hand ----------------------------------------------------------

/// Protobuf wire format: varints, tags, length-delimited fields.
module private Proto =
    let varint (v: int64) =
        let out = ResizeArray<byte>()
        let mutable u = uint64 v

        while u >= 0x80UL do
            out.Add(byte (u &&& 0x7FUL ||| 0x80UL))
            u <- u >>> 7

        out.Add(byte u)
        out.ToArray()

    let key (field: int) (wire: int) = varint (int64 ((field <<< 3) ||| wire))
    let int (field: int) (v: int64) = Array.append (key field 0) (varint v)

    let bytes (field: int) (b: byte[]) =
        Array.concat [ key field 2; varint (int64 b.Length); b ]

    let string (field: int) (s: string) =
        bytes field (Text.Encoding.UTF8.GetBytes s)

/// ONNX's element types (TensorProto.DataType).
let private onnxFloat, onnxDouble = 1L, 11L

/// A ValueInfoProto: name, tensor type of `elem` with a fixed shape.
let private valueInfo (name: string) (elem: int64) (shape: int[]) =
    let dims =
        shape
        |> Array.map (fun d -> Proto.bytes 1 (Proto.int 1 (int64 d))) // Dimension.dim_value
        |> Array.concat

    let tensorType = Array.append (Proto.int 1 elem) (Proto.bytes 2 dims) // elem_type, shape
    Array.append (Proto.string 1 name) (Proto.bytes 2 (Proto.bytes 1 tensorType)) // TypeProto.tensor_type

/// An AttributeProto of type INTS (7).
let private intsAttribute (name: string) (values: int[]) =
    Array.concat
        [
            Proto.string 1 name
            yield! values |> Array.map (fun v -> Proto.int 8 (int64 v))
            Proto.int 20 7L
        ]

/// An AttributeProto of type INT (2).
let private intAttribute (name: string) (value: int) =
    Array.concat [ Proto.string 1 name; Proto.int 3 (int64 value); Proto.int 20 2L ]

/// The ModelProto (IR version 8, opset 17) of one Conv (inputs X, W) or MaxPool (input X) node
/// for layer `l`, elements of ONNX type `elem`.
let modelBytes (l: Layer) (elem: int64) =
    let lo, hi = samePadding l
    let outShape = [| l.N; l.O; l.OutSize; l.OutSize |]

    let node =
        if l.Pool then
            Array.concat
                [
                    Proto.string 1 "X"
                    Proto.string 2 "Y"
                    Proto.string 3 "pool"
                    Proto.string 4 "MaxPool"
                    Proto.bytes 5 (intsAttribute "kernel_shape" [| l.K; l.K |])
                    Proto.bytes 5 (intsAttribute "strides" [| l.Stride; l.Stride |])
                    Proto.bytes 5 (intsAttribute "pads" [| 0; 0; 0; 0 |])
                ]
        else
            Array.concat
                [
                    Proto.string 1 "X"
                    Proto.string 1 "W"
                    Proto.string 2 "Y"
                    Proto.string 3 "conv"
                    Proto.string 4 "Conv"
                    Proto.bytes 5 (intsAttribute "kernel_shape" [| l.K; l.K |])
                    Proto.bytes 5 (intsAttribute "strides" [| l.Stride; l.Stride |])
                    Proto.bytes 5 (intsAttribute "pads" [| lo; lo; hi; hi |]) // begins, then ends
                    Proto.bytes 5 (intsAttribute "dilations" [| 1; 1 |])
                    Proto.bytes 5 (intAttribute "group" l.Groups)
                ]

    let graph =
        Array.concat
            [
                Proto.bytes 1 node
                Proto.string 2 "g"
                Proto.bytes 11 (valueInfo "X" elem (inputShape l))
                if not l.Pool then
                    Proto.bytes 11 (valueInfo "W" elem (kernelShape l))
                Proto.bytes 12 (valueInfo "Y" elem outShape)
            ]

    Array.concat
        [
            Proto.int 1 8L // ir_version
            Proto.string 2 "FunDiff.Bench"
            Proto.bytes 7 graph
            Proto.bytes 8 (Array.append (Proto.string 1 "") (Proto.int 2 17L)) // opset_import
        ]

// ---- ONNX Runtime ------------------------------------------------------------------------------

/// Single-threaded, sequential session options (graph optimizations at ORT's default, all).
let private sessionOptions () =
    let o = new SessionOptions()
    o.IntraOpNumThreads <- 1
    o.InterOpNumThreads <- 1
    o.ExecutionMode <- ExecutionMode.ORT_SEQUENTIAL
    o

/// A session of layer `l`'s model with its inputs and a preallocated output bound: `Run` runs it
/// (the figures of the timed calls), `Output` reads the output as float64.
type OrtLayer<'T when 'T: unmanaged and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
    (l: Layer, elem: int64, convert: float -> 'T, back: 'T -> float, x: float[], w: float[]) =
    let options = sessionOptions ()
    let session = new InferenceSession(modelBytes l elem, options)
    let run = new RunOptions()

    let xv =
        OrtValue.CreateTensorValueFromMemory(Array.map convert x, Array.map int64 (inputShape l))

    let wv =
        OrtValue.CreateTensorValueFromMemory(Array.map convert w, Array.map int64 (kernelShape l))

    let outShape = [| l.N; l.O; l.OutSize; l.OutSize |]
    let y: 'T[] = Array.zeroCreate (Array.reduce (*) outShape)
    let yv = OrtValue.CreateTensorValueFromMemory(y, Array.map int64 outShape)
    let names = if l.Pool then [| "X" |] else [| "X"; "W" |]
    let values = if l.Pool then [| xv |] else [| xv; wv |]
    let outNames = [| "Y" |]
    let outValues = [| yv |]

    member _.Run() =
        session.Run(run, names, values, outNames, outValues)

    member _.Output() = Array.map back y

/// Whether ORT's CPU provider has a float64 kernel of the layer's op (Conv has none: its
/// session fails to build or run); tried once per layer.
let private tryDouble (l: Layer) (x: float[]) (w: float[]) =
    try
        let s = OrtLayer<float>(l, onnxDouble, id, id, x, w)
        s.Run()
        Ok s
    with e ->
        Error(e.Message.Split('\n').[0])

/// How ORT loaded: the version and the native library's place, or why it failed.
let ortStatus =
    lazy
        (try
            let version = OrtEnv.Instance().GetVersionString()
            Ok(sprintf "ONNX Runtime %s (CPU execution provider)" version)
         with e ->
             Error(sprintf "ONNX Runtime did not load: %s" e.Message))

// ---- the profile's pieces (FunDiff's internal kernels, through reflection) ----------------------

/// FunDiff.Backend.Windows.patches (internal) on a concrete array: im2col as `conv` runs it.
let private patchesKernel =
    lazy
        (let t = typeof<NDArray>.Assembly.GetType("FunDiff.Backend.Windows", true)
         let flags = BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Static
         let geometry = t.GetMethod("geometry", flags)
         let patches = t.GetMethod("patches", flags)

         fun (l: Layer) ->
             let lo, hi = samePadding l
             let two (v: int) = [| v; v |]

             let g =
                 geometry.Invoke(null, [| box (two l.Size); two l.K; two l.Stride; two lo; two hi; two 1 |])

             fun (x: NDArray) -> patches.Invoke(null, [| g; box x |]) :?> NDArray)

/// The machine in one line (for the prose of table 20).
let machineLine () =
    let m = MachineInfo.describe (MachineInfo.repoRoot ())

    sprintf
        "%s UTC on %s (%s), %s, %s, GC %s, commit %s"
        (m.Date.ToString("yyyy-MM-dd HH:mm"))
        m.CpuModel
        m.Cores
        m.DotNet
        m.Os
        m.Gc
        m.Commit

// ---- the cases ---------------------------------------------------------------------------------

/// Whether ORT's float64 Conv/MaxPool was used per layer key (false: float32), filled by `cases`.
let precision = Collections.Generic.Dictionary<string, string>()

let private check (what: string) (limit: float) (ours: float[]) (theirs: float[]) =
    if ours.Length <> theirs.Length then
        failwithf "self-check failed: %s: %d elements by FunDiff, %d by ONNX Runtime" what ours.Length theirs.Length

    let scale = 1.0 + Array.fold (fun m v -> max m (abs v)) 0.0 ours
    let d = Array.fold2 (fun m a b -> max m (abs (a - b))) 0.0 ours theirs

    if not (d <= limit * scale) then
        failwithf "self-check failed: %s: FunDiff and ONNX Runtime differ by %g (limit %g)" what d (limit * scale)

    d

/// Every case of the conv rows; `log` gets the self-check lines. Keys: conv.<layer>.<eager|jit|
/// gradw|gradxw|ort|patches|dot|gemm|transpose>.
let cases (log: string -> unit) : Case list =
    let ort = ortStatus.Force()

    log ("  machine: " + machineLine ())

    match ort with
    | Ok s -> log ("  " + s)
    | Error e -> failwith e

    [
        for l in layers do
            let xs, ws = data l
            let x, w = tensor (inputShape l) xs, tensor (kernelShape l) ws
            let f = forward l w
            let y = f x
            let ours = Tensor.toArray y

            // the reference: float64 when ORT's CPU provider has the kernel, else float32
            let reference: unit -> unit =
                match tryDouble l xs ws with
                | Ok s ->
                    precision.[l.Key] <- "float64"
                    let d = check (l.Label + " (ORT float64)") 1e-12 ours (s.Output())
                    log (sprintf "  %s: ORT float64, max abs difference %.3g" l.Label d)
                    s.Run
                | Error why ->
                    let s = OrtLayer<float32>(l, onnxFloat, float32, float, xs, ws)
                    s.Run()
                    precision.[l.Key] <- "float32"
                    let d = check (l.Label + " (ORT float32)") 1e-5 ours (s.Output())
                    log (sprintf "  %s: ORT float32 (float64: %s), max abs difference %.3g" l.Label why d)
                    s.Run

            let j = jitted f
            let jy = Tensor.toArray (j.Invoke x)

            check (l.Label + " (jit vs eager)") 1e-12 ours jy |> ignore

            let key (what: string) = sprintf "conv.%s.%s" l.Key what

            yield
                {
                    Key = key "eager"
                    Label = l.Label + ", FunDiff eager"
                    Run = fun () -> sink <- f x
                }

            yield
                {
                    Key = key "jit"
                    Label = l.Label + ", FunDiff jit"
                    Run = fun () -> sink <- j.Invoke x
                }

            yield
                {
                    Key = key "ort"
                    Label = sprintf "%s, ONNX Runtime (%s, 1 thread)" l.Label precision.[l.Key]
                    Run = reference
                }

            if l.Pool then
                let g = grad (fun x -> Tensor.sum (Tensor.square (forward l w x)))

                yield
                    {
                        Key = key "gradx"
                        Label = l.Label + ", FunDiff grad of sum(y²) in x"
                        Run = fun () -> sink <- g x
                    }
            else
                let gw = grad (fun w -> Tensor.sum (Tensor.square (forward l w x)))

                let gxw =
                    Tree.grad (fun (x: Tensor, w: Tensor) -> Tensor.sum (Tensor.square (forward l w x)))

                yield
                    {
                        Key = key "gradw"
                        Label = l.Label + ", FunDiff grad of sum(y²) in w"
                        Run = fun () -> sink <- gw w
                    }

                yield
                    {
                        Key = key "gradxw"
                        Label = l.Label + ", FunDiff Tree.grad of sum(y²) in (x, w)"
                        Run = fun () -> sink <- gxw (x, w)
                    }

            // the profile: FunDiff's pieces of the forward on concrete arrays
            let patches = patchesKernel.Force () l
            let xa = NDArray.ofData (inputShape l) Float64 (Array.copy xs)
            let windows = patches xa

            yield
                {
                    Key = key "patches"
                    Label = l.Label + ", profile: patches (im2col) alone"
                    Run = fun () -> sink <- patches xa
                }

            if not l.Pool then
                let g, og = l.Groups, l.O / l.Groups
                let taps = l.C / g * l.K * l.K
                let p = l.OutSize * l.OutSize
                let wa = NDArray.ofData [| g; og; taps |] Float64 (Array.copy ws)
                let wins = NDArray.ofData [| l.N; g; taps; p |] Float64 windows.Data
                // the windows already as (groups, taps, N·positions): the GEMM reads them in place
                let src = windows.Data

                let permuted =
                    NDArray.ofData
                        [| g; taps; l.N * p |]
                        Float64
                        (Array.init (g * taps * l.N * p) (fun i ->
                            let gi, rest = i / (taps * l.N * p), i % (taps * l.N * p)
                            let t, rest = rest / (l.N * p), rest % (l.N * p)
                            let n, q = rest / p, rest % p
                            src.[((n * g + gi) * taps + t) * p + q]))

                let product = DotGeneral.apply [| 2 |] [| 2 |] [| 0 |] [| 1 |] wa wins
                let gemm = DotGeneral.apply [| 2 |] [| 1 |] [| 0 |] [| 0 |] wa permuted

                check (l.Label + " (profile GEMM vs dot_general)") 1e-12 product.Data gemm.Data
                |> ignore

                let beforeTranspose = tensor [| g; og; l.N; p |] product.Data

                yield
                    {
                        Key = key "dot"
                        Label = l.Label + ", profile: dot_general as conv calls it"
                        Run = fun () -> sink <- DotGeneral.apply [| 2 |] [| 2 |] [| 0 |] [| 1 |] wa wins
                    }

                yield
                    {
                        Key = key "gemm"
                        Label = l.Label + ", profile: the GEMM alone (windows pre-permuted)"
                        Run = fun () -> sink <- DotGeneral.apply [| 2 |] [| 1 |] [| 0 |] [| 0 |] wa permuted
                    }

                yield
                    {
                        Key = key "transpose"
                        Label = l.Label + ", profile: the output transpose"
                        Run = fun () -> sink <- Tensor.transposeAxes [| 2; 0; 1; 3 |] beforeTranspose
                    }
    ]

/// Settings of the conv rows, measured in their own interleaved rounds.
let settings =
    {
        Rounds = 15
        SampleTarget = TimeSpan.FromMilliseconds 80.0
        WarmUp = TimeSpan.FromMilliseconds 300.0
    }

// ---- the table ---------------------------------------------------------------------------------

let private markdownTable (header: string list) (rows: string list list) =
    let line (cells: string list) = "| " + String.Join(" | ", cells) + " |"
    let sep = "|" + String.Join("|", header |> List.map (fun _ -> "---")) + "|"
    String.Join("\n", [ line header; sep ] @ List.map line rows) + "\n"

/// Table 20 and its profile, from measurements that include the conv cases.
let table (ms: Measurement list) =
    let find key =
        match ms |> List.tryFind (fun m -> m.Case.Key = key) with
        | Some m -> m
        | None -> failwithf "no measurement %s" key

    let key (l: Layer) (what: string) = sprintf "conv.%s.%s" l.Key what
    let t l what = time (find (key l what)).MedianSeconds

    let r l a b =
        ratio (pairedRatio (find (key l a)) (find (key l b)))

    let bold (s: string) = "**" + s + "**"
    let sb = Text.StringBuilder()
    let add (s: string) = sb.AppendLine(s) |> ignore
    add "### 20. Convolution and pooling against ONNX Runtime\n"

    add (
        markdownTable
            [
                "layer (NCHW, 3×3, Same)"
                "FunDiff eager"
                "FunDiff jit"
                "ONNX Runtime (1 thread)"
                "**eager / ORT**"
                "**jit / ORT**"
                "grad in w"
                "grad in (x, w)"
                "grad w / forward"
                "grad (x, w) / forward"
            ]
            [
                for l in layers ->
                    let gradW, gradXW, gradRatio, gradXWRatio =
                        if l.Pool then
                            t l "gradx" + " (in x)", "—", r l "gradx" "eager" + " (in x)", "—"
                        else
                            t l "gradw", t l "gradxw", r l "gradw" "eager", r l "gradxw" "eager"

                    [
                        l.Label
                        t l "eager"
                        t l "jit"
                        sprintf "%s (%s)" (t l "ort") precision.[l.Key]
                        bold (r l "eager" "ort")
                        bold (r l "jit" "ort")
                        gradW
                        gradXW
                        gradRatio
                        gradXWRatio
                    ]
            ]
    )

    add "Where FunDiff's eager convolution spends its time (the pieces timed alone on concrete arrays, same rounds):\n"

    add (
        markdownTable
            [
                "layer"
                "conv (eager)"
                "patches (im2col)"
                "dot_general as conv calls it"
                "of which the GEMM alone"
                "output transpose"
                "pieces / conv"
                "GFLOP/s: conv, GEMM alone, ORT"
            ]
            [
                for l in layers ->
                    if l.Pool then
                        [
                            l.Label
                            t l "eager"
                            t l "patches"
                            "— (reduce_max over the windows)"
                            "—"
                            "—"
                            r l "patches" "eager" + " (patches alone)"
                            "—"
                        ]
                    else
                        let m what = (find (key l what)).MedianSeconds

                        [
                            l.Label
                            t l "eager"
                            t l "patches"
                            t l "dot"
                            t l "gemm"
                            t l "transpose"
                            ratio ((m "patches" + m "dot" + m "transpose") / m "eager")
                            sprintf
                                "%s, %s, %s"
                                (sig3 (l.Flops / m "eager" / 1e9))
                                (sig3 (l.Flops / m "gemm" / 1e9))
                                (sig3 (l.Flops / m "ort" / 1e9))
                        ]
            ]
    )

    sb.ToString()

/// Whether `ms` holds the conv rows.
let measured (ms: Measurement list) =
    ms |> List.exists (fun m -> m.Case.Key = "conv.c16.eager")
