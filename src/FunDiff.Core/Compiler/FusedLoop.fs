/// One of jit's fused loops: a group of elementwise equations over one shape, run a tile at a
/// time. Each instruction is the primitive's own span kernel (the vectorized one eager
/// evaluation runs) applied to a tile of `TileLength` elements, so a value the loop alone reads
/// lives in an L1-sized scratch slot and never reaches memory; the loop reads each input array
/// once and writes each output array once, and a closing sum accumulates tile by tile. Block-at-
/// a-time evaluation rather than generated code: docs/DESIGN-DECISIONS.md has the measurements.
module internal FunDiff.Compiler.FusedLoop

#nowarn "9" // native pointers: the pinned outputs of non-temporal stores (Stores)

open System
open System.Numerics.Tensors
open FunDiff
open FunDiff.Backend

/// Elements per tile: a multiple of every vector width, so the tiles split an array where the
/// kernels' vector loops do (their scalar remainders fall where eager evaluation's do). 1024
/// float64 (8 KiB): a loop's few live slots stay in a 32 KiB L1 cache, and the fixed cost of a
/// kernel call is spread over twice as many elements as at 512 (measured on the gradient of
/// Rosenbrock at 10⁵ and its value: 512, 1024 and 2048 were within the machine's noise of
/// one another, 1024 the fastest median; docs/DESIGN-DECISIONS.md).
[<Literal>]
let TileLength = 1024

/// Where an instruction reads or writes the current tile's elements.
[<Struct>]
type Lane =
    /// Scratch slot k: a value nothing outside the loop reads.
    | Scratch of slot: int
    /// Array k of the loop (an input read in place, or an output written in place), at the tile.
    | Whole of array: int
    /// Float register r repeated over the tile (a rank-0 operand).
    | Repeated of register: int

/// One step of a fused loop.
type Instruction =
    /// dst ← f(src) on the tile.
    | Map of map: Elementwise.UnaryKernel * src: Lane * dst: Lane
    /// dst ← f(a, b) on the tile.
    | Zip of zip: Elementwise.BinaryKernel * a: Lane * b: Lane * dst: Lane
    /// dst ← array k read `offset` elements earlier, 0 outside it (a pad along the leading axis).
    | Shifted of source: int * offset: int * dst: Lane
    /// float register r += Σ src on the tile.
    | Sum of src: Lane * register: int
    /// array k at the tile ← src, by non-temporal stores: a large output (the pool hands out
    /// buffers last written long ago, out of cache, and an ordinary store would first read
    /// each line: Backend/Stores.fs), computed into scratch first.
    | Stream of src: Lane * array: int

/// Computed once per call before the tiles: a value that is one number over the whole shape
/// (a repeated scalar, or an elementwise function of such values), kept in a float register.
/// The span kernels run on one element, as eager evaluation runs them on a small array.
type Uniform =
    /// floats[dst] ← f floats[src].
    | UniformMap of map: Elementwise.UnaryKernel * src: int * dst: int
    /// floats[dst] ← f floats[a] floats[b].
    | UniformZip of zip: Elementwise.BinaryKernel * a: int * b: int * dst: int
    /// floats[dst] ← floats[src] (a rank-0 value repeated).
    | UniformCopy of src: int * dst: int

/// An array the loop reads (`Input`: a tensor register) or writes (`Output`: a tensor register
/// that receives a fresh array of the loop's shape).
type LoopArray =
    | Input of input: int
    | Output of output: int * aval: Aval
    /// A value only fused loops read, in the program's buffer k (`size` elements of it): written
    /// by one loop, read by later ones, reused by the next call (the buffer plan).
    | Temporary of buffer: int * length: int
    /// `length` elements of another array from its element `offset` on (a slice or reshape
    /// read in place).
    | Window of source: LoopArray * offset: int * length: int

/// A fused loop resolved to registers: `size` elements per array, `slots` scratch slots.
[<Sealed>]
type Loop
    (
        size: int,
        uniforms: Uniform[],
        arrays: LoopArray[],
        instructions: Instruction[],
        slots: int,
        /// Uniform values read outside the loop: (float register, tensor register, aval).
        uniformOutputs: (int * int * Aval)[],
        /// Float registers of the closing sums (zeroed before the tiles).
        sums: int[]
    ) =

    // the arrays' storage for the call in progress, kept per thread (a loop calls no user code,
    // so it is never re-entered on one thread)
    let streams =
        instructions
        |> Array.exists (function
            | Stream _ -> true
            | _ -> false)

    let storage =
        new System.Threading.ThreadLocal<struct (float[][] * int[] * int[])>(fun () ->
            struct (Array.zeroCreate arrays.Length, Array.zeroCreate arrays.Length, Array.zeroCreate arrays.Length))

    /// Scratch floats the loop needs (the caller keeps them between calls).
    member _.ScratchLength = slots * TileLength

    /// The elements of every array of the loop.
    member _.Size = size
    member _.Instructions = instructions
    member _.Arrays = arrays
    member _.Uniforms = uniforms

    static member private Read
        (lane: Lane, scratch: float[], buffers: float[][], offsets: int[], floats: float[], start: int, length: int)
        : ReadOnlySpan<float> =
        match lane with
        | Scratch k -> ReadOnlySpan<float>(scratch, k * TileLength, length)
        | Whole a -> ReadOnlySpan<float>(buffers.[a], offsets.[a] + start, length)
        | Repeated r -> ReadOnlySpan<float>(floats, r, 1)

    /// An array's storage for this call: (buffer, offset, length); a fresh output is allocated
    /// and put in its tensor register.
    static member private Resolve
        (array: LoopArray, tensors: Tensor[], temporaries: float[][], size: int)
        : struct (float[] * int * int) =
        match array with
        | Input t ->
            let a = (tensors.[t] :?> ConcreteTensor).Array
            struct (a.Buffer, a.Offset, a.Size)
        | Output(t, aval) ->
            let data = NDArray.alloc size
            tensors.[t] <- ConcreteTensor(NDArray(aval, data))
            struct (data, 0, size)
        | Temporary(b, length) -> struct (temporaries.[b], 0, length)
        | Window(source, offset, length) ->
            let struct (buffer, start, _) = Loop.Resolve(source, tensors, temporaries, size)
            struct (buffer, start + offset, length)

    static member private StreamTile(src: ReadOnlySpan<float>, dst: float[], at: int) =
        use p = fixed &dst.[at]
        Stores.copyToPinned src p

    static member private NeverWritten() : unit =
        invalidOp "a fused loop never writes a repeated lane"

    static member private Write
        (lane: Lane, scratch: float[], buffers: float[][], offsets: int[], start: int, length: int)
        : Span<float> =
        match lane with
        | Scratch k -> Span<float>(scratch, k * TileLength, length)
        | Whole a -> Span<float>(buffers.[a], offsets.[a] + start, length)
        | Repeated _ ->
            // (raise is generic, and a generic cannot return a Span: fail, then return)
            Loop.NeverWritten()
            Span<float>.Empty

    /// Runs the loop: reads its inputs from the tensor registers and the float registers, puts
    /// its outputs there.
    member _.Run(floats: float[], tensors: Tensor[], scratch: float[], temporaries: float[][]) =
        for u in uniforms do
            match u with
            | UniformMap(f, a, o) -> f.Invoke(ReadOnlySpan(floats, a, 1), Span(floats, o, 1))
            | UniformZip(f, a, b, o) ->
                f.Invoke(ReadOnlySpan(floats, a, 1), ReadOnlySpan(floats, b, 1), Span(floats, o, 1))
            | UniformCopy(a, o) -> floats.[o] <- floats.[a]

        for (f, t, aval) in uniformOutputs do
            tensors.[t] <- ConcreteTensor(NDArray.uniform aval floats.[f])

        let struct (buffers, offsets, lengths) = storage.Value

        for k in 0 .. arrays.Length - 1 do
            let struct (buffer, offset, length) =
                Loop.Resolve(arrays.[k], tensors, temporaries, size)

            buffers.[k] <- buffer
            offsets.[k] <- offset
            lengths.[k] <- length

        for r in sums do
            floats.[r] <- 0.0

        let mutable start = 0

        while start < size do
            let length = min TileLength (size - start)

            for instruction in instructions do
                match instruction with
                | Map(f, src, dst) ->
                    f.Invoke(
                        Loop.Read(src, scratch, buffers, offsets, floats, start, length),
                        Loop.Write(dst, scratch, buffers, offsets, start, length)
                    )
                | Zip(f, a, b, dst) ->
                    f.Invoke(
                        Loop.Read(a, scratch, buffers, offsets, floats, start, length),
                        Loop.Read(b, scratch, buffers, offsets, floats, start, length),
                        Loop.Write(dst, scratch, buffers, offsets, start, length)
                    )
                | Shifted(k, offset, dst) ->
                    let out = Loop.Write(dst, scratch, buffers, offsets, start, length)
                    let source = lengths.[k]
                    // the tile's elements start - offset .. start - offset + length - 1 of the source
                    let first = max 0 (offset - start)
                    let last = min length (source + offset - start)
                    out.Clear()

                    if last > first then
                        ReadOnlySpan<float>(buffers.[k], offsets.[k] + start + first - offset, last - first)
                            .CopyTo(out.Slice(first))
                | Stream(src, k) ->
                    Loop.StreamTile(
                        Loop.Read(src, scratch, buffers, offsets, floats, start, length),
                        buffers.[k],
                        offsets.[k] + start
                    )
                | Sum(src, r) ->
                    floats.[r] <-
                        floats.[r]
                        + TensorPrimitives.Sum(Loop.Read(src, scratch, buffers, offsets, floats, start, length))

            start <- start + length

        if streams then
            Stores.fence ()

        // the arrays' storage must not outlive the call (a kept buffer would keep its lease)
        Array.Clear buffers
