/// Large buffers are reused once the GC finds their leases dead: a buffer must never be handed
/// out again while any array (a reshape shares its operand's storage) still refers to it, nor
/// while a caller holds it as a plain array; and a loop must reuse its buffers without waiting
/// for the runtime's own full collections. (One xunit collection with ViewTests: both switch
/// the global `BufferPool.DebugChecks`, so their tests must not overlap.)
[<Xunit.Collection("BufferPool")>]
module FunDiff.Tests.BufferPoolTests

open System
open Xunit
open FunDiff
open FunDiff.Backend
open FunDiff.Tests.Harness

let private n = BufferPool.MinPooledLength * 2

let private collect () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()

[<Fact>]
let ``live arrays keep their values while dead ones are recycled`` () =
    let x = Tensor.linspace 0.0 1.0 n
    let kept = sin x
    let keptView = Tensor.reshape [| 2; n / 2 |] (cos x)
    // snapshots taken now: any later reuse of these buffers would change the values
    let expectedKept = Tensor.toArray kept
    let expectedView = Tensor.toArray keptView

    for round in 1..20 do
        // garbage of the same length: its buffers go back to the pool and are rented again
        for _ in 1..10 do
            exp x * float round |> ignore

        collect ()
        let fresh = x * 3.0 + 1.0
        Assert.Equal(3.0 * (float (n - 1) / float (n - 1)) + 1.0, (Tensor.toArray fresh).[n - 1], 12)

    Assert.Equal<float[]>(expectedKept, Tensor.toArray kept)
    Assert.Equal<float[]>(expectedView, Tensor.toArray keptView)
    Assert.True(BufferPool.idleByteCount () >= 0L)

[<Fact>]
let ``gradients of large functions stay exact across recycling`` () =
    let x = Tensor.linspace -1.0 1.0 n
    let f (x: Tensor) = Tensor.sum (sin x * x)
    let expected = Tensor.toArray x |> Array.map (fun v -> cos v * v + sin v)
    let first = Tensor.toArray (grad f x)

    for i in 0 .. n - 1 do
        Assert.True(abs (expected.[i] - first.[i]) < 1e-12, sprintf "element %d: %g vs %g" i first.[i] expected.[i])

    for _ in 1..5 do
        let g = grad f x
        collect ()
        // a recycled buffer must never hold stale values; the vectorized kernels may round an
        // element 1 ulp differently when a buffer's alignment differs, so compare to 1e-14
        let again = Tensor.toArray g

        for i in 0 .. n - 1 do
            Assert.True(
                abs (again.[i] - first.[i]) <= 1e-14 * max 1.0 (abs first.[i]),
                sprintf "element %d: %g vs %g" i again.[i] first.[i]
            )

[<Fact>]
let ``a rented buffer is uninitialized: kernels that need zeros clear it`` () =
    // fill the pool with non-zero garbage, then use kernels that start from zeros
    for _ in 1..10 do
        Tensor.full [| n |] 7.0 |> ignore

    collect ()

    let padded =
        Tensor.reshape [| n |] (Tensor.concat 0 [ Tensor.ones [| n / 2 |]; Tensor.zeros [| n / 2 |] ])

    Assert.Equal(float (n / 2), float (Tensor.sum padded))

    let g =
        grad (fun (x: Tensor) -> Tensor.sum (Tensor.slice 0 10 x)) (Tensor.ones [| n |])

    Assert.Equal(10.0, float (Tensor.sum g))
    let sums = Tensor.sumAxes [ 0 ] (Tensor.ones [| 4; n |])
    Assert.Equal(4.0 * float n, float (Tensor.sum sums))

[<Fact>]
let ``a loop reuses its buffers without waiting for full collections`` () =
    let x = Tensor.linspace 0.0 1.0 n
    let bytesPerResult = float (n * 8)
    // warm up: the first rounds allocate while the pool learns the loop and its circulating
    // buffers grow to cover the spacing between induced collections (32 MiB: 128 results here)
    for _ in 1..80 do
        exp x * 2.0 + x |> ignore

    let before = GC.GetAllocatedBytesForCurrentThread()

    for _ in 1..200 do
        exp x * 2.0 + x |> ignore

    let allocated = float (GC.GetAllocatedBytesForCurrentThread() - before)
    // 600 results of 256 KiB each: without reuse that is 150 MiB of fresh memory
    Assert.True(
        allocated < 0.1 * 600.0 * bytesPerResult,
        sprintf
            "the loop allocated %.1f MiB for 600 results of %.0f KiB"
            (allocated / 1048576.0)
            (bytesPerResult / 1024.0)
    )

[<Fact>]
let ``views and results held across many collections keep their values on every thread`` () =
    let x = Tensor.linspace -1.0 1.0 n
    let xs = Tensor.toArray x

    let worker (k: int) =
        async {
            for round in 1..40 do
                let scale = float (k * 100 + round)
                // a view outliving the array it was made from (its source is garbage at once)
                let view = Tensor.reshape [| n / 4; 4 |] (x * scale)
                let kept = sin x + scale
                // churn: garbage of the same lengths, so dead buffers are reused right away
                for _ in 1..6 do
                    (x * 3.0 - scale) |> ignore

                BufferPool.collectNow () |> ignore

                for _ in 1..6 do
                    (cos x * x) |> ignore

                let v = Tensor.toArray view
                let s = Tensor.toArray kept

                for i in 0 .. n - 1 do
                    if v.[i] <> xs.[i] * scale then
                        failwithf "thread %d round %d: view element %d is %g, not %g" k round i v.[i] (xs.[i] * scale)

                    if abs (s.[i] - (sin xs.[i] + scale)) > 1e-12 * scale then
                        failwithf "thread %d round %d: element %d is %g, not %g" k round i s.[i] (sin xs.[i] + scale)
        }

    [ 1..4 ]
    |> List.map worker
    |> Async.Parallel
    |> Async.RunSynchronously
    |> ignore

[<Fact>]
let ``a rented buffer a caller keeps as a plain array is never taken back`` () =
    // Linalg's public functions return rented float[]s: the caller owns them outright
    let m = 160
    let a = Array.init (m * m) (fun i -> float (i % 7) - 3.0)
    let product = Gemm.matmulBatched 1 m m m a a
    Assert.True(product.Length >= BufferPool.MinPooledLength)
    let snapshot = Array.copy product

    for _ in 1..5 do
        for _ in 1..10 do
            Tensor.full [| product.Length |] 9.0 * 2.0 |> ignore

        BufferPool.collectNow () |> ignore

    Assert.Equal<float[]>(snapshot, product)

// ---- debug mode: the pool's invariant made checkable ----

/// Lengths no other test rents, so no concurrent test takes these buffers from the idle lists.
let private lonely = BufferPool.MinPooledLength * 2 + 17
let private lonelier = BufferPool.MinPooledLength * 2 + 29

/// The breach the invariant forbids: the raw array escapes and its NDArray dies at once.
[<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private orphanedData (length: int) (value: float) =
    (NDArray.full (Aval([| length |], Float64)) value).Data


[<Fact>]
let ``debug mode: a raw array read after its NDArray died is all NaN`` () =
    withDebugChecks (fun () ->
        let raw = orphanedData lonely 5.0
        // any large rental collects and sweeps in debug mode: the dead array's buffer is
        // taken back and poisoned, so the stale read below cannot return plausible numbers
        NDArray.alloc n |> ignore
        Assert.True(Array.forall Double.IsNaN raw, sprintf "element 0 is %g" raw.[0]))

[<Fact>]
let ``debug mode: a write to a returned buffer is caught at its next rental`` () =
    withDebugChecks (fun () ->
        let raw = orphanedData lonelier 5.0
        NDArray.alloc n |> ignore
        raw.[3] <- 1.0 // the breach: writing through a raw array whose NDArray died

        let error =
            Assert.Throws<InvalidOperationException>(fun () -> NDArray.alloc lonelier |> ignore)

        Assert.Contains("element 3", error.Message))

[<Fact>]
let ``debug mode: Read keeps the array alive while its values are read`` () =
    withDebugChecks (fun () ->
        let seen =
            (NDArray.full (Aval([| lonely |], Float64)) 5.0)
                .Read(fun data ->
                    // collections and sweeps here must not take this buffer back
                    for _ in 1..3 do
                        NDArray.alloc lonely |> ignore

                    Array.copy data)

        Assert.True(Array.forall ((=) 5.0) seen))

[<Fact>]
let ``debug mode: gradients and views stay exact when every rental collects`` () =
    withDebugChecks (fun () ->
        let x = Tensor.linspace -1.0 1.0 n
        let xs = Tensor.toArray x
        let view = Tensor.reshape [| 2; n / 2 |] (x * 2.0)

        for _ in 1..3 do
            let g = Tensor.toArray (grad (fun (x: Tensor) -> Tensor.sum (sin x * x)) x)

            for i in 0 .. n - 1 do
                let expected = cos xs.[i] * xs.[i] + sin xs.[i]
                Assert.True(abs (g.[i] - expected) < 1e-12, sprintf "element %d: %g vs %g" i g.[i] expected)

        Assert.Equal<float[]>(Array.map ((*) 2.0) xs, Tensor.toArray view))
