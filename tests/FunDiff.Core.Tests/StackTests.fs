/// The interpreter stack: AsyncLocal, so it follows await and isolates threads; dead traces
/// make escaped tracers loud; staged values cannot become numbers.
module FunDiff.Tests.StackTests

open System
open System.Threading
open System.Threading.Tasks
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private f (x: Tensor) =
    Tensor.sum (sin x * x ** 2.0) + Tensor.sum (exp (x * 0.1))

let private point (i: int) =
    Tensor.ofArray [| float i * 0.1; 1.0 - float i * 0.05; 0.5 |]

[<Fact>]
let ``8 threads computing gradients at once match the sequential results`` () =
    let expected =
        Array.init 8 (fun t -> Array.init 50 (fun i -> Tensor.toArray (grad f (point (t * 50 + i)))))

    let actual = Array.zeroCreate 8

    let threads =
        Array.init 8 (fun t ->
            Thread(fun () -> actual.[t] <- Array.init 50 (fun i -> Tensor.toArray (grad f (point (t * 50 + i))))))

    threads |> Array.iter (fun th -> th.Start())
    threads |> Array.iter (fun th -> th.Join())

    for t in 0..7 do
        for i in 0..49 do
            Assert.Equal<float[]>(expected.[t].[i], actual.[t].[i])

[<Fact>]
let ``await inside a function under grad keeps the trace`` () =
    let g (x: Tensor) =
        task {
            do! Task.Yield()
            let y = sin x
            do! Task.Delay 1
            return Tensor.sum (y * x)
        }
        |> fun t -> t.Result

    let x = Tensor.ofArray [| 0.3; 0.7 |]
    let expected = Tensor.toArray (grad (fun x -> Tensor.sum (sin x * x)) x)
    Assert.Equal<float[]>(expected, Tensor.toArray (grad g x))

[<Fact>]
let ``concurrent tasks under grad do not see each other's traces`` () =
    let work (i: int) =
        Task.Run(fun () ->
            grad
                (fun x ->
                    Thread.Sleep 1
                    Tensor.sum (x * x * float i))
                (Tensor.ofArray [| 1.0; 2.0 |]))

    let results = Task.WhenAll(Array.init 20 work).Result

    results
    |> Array.iteri (fun i g -> Assert.Equal<float[]>([| 2.0 * float i; 4.0 * float i |], Tensor.toArray g))

[<Fact>]
let ``Parallel.For inside a function under jvp works`` () =
    let g (x: Tensor) =
        let parts = Array.zeroCreate 16
        Parallel.For(0, 16, (fun i -> parts.[i] <- sin (x * float i))) |> ignore
        Tensor.stack (List.ofArray parts)

    let x, v = Tensor.scalar 0.4, Tensor.scalar 1.0
    let y, t = jvp g x v
    Assert.Equal<float[]>(Array.init 16 (fun i -> sin (0.4 * float i)), Tensor.toArray y)
    Assert.Equal<float[]>(Array.init 16 (fun i -> float i * cos (0.4 * float i)), Tensor.toArray t)

[<Fact>]
let ``Parallel.For inside a function under grad works (staging takes a lock)`` () =
    let g (x: Tensor) =
        let parts = Array.zeroCreate 32

        Parallel.For(0, 32, (fun i -> parts.[i] <- Tensor.sum (sin (x * float i))))
        |> ignore

        parts |> Array.reduce (+)

    let x = Tensor.ofArray [| 0.2; 0.3 |]

    let expected =
        Array.init 2 (fun k -> Seq.sum (seq { for i in 0..31 -> float i * cos ([| 0.2; 0.3 |].[k] * float i) }))

    let actual = Tensor.toArray (grad g x)

    for k in 0..1 do
        Assert.Equal(expected.[k], actual.[k], 10)

[<Fact>]
let ``a tracer stored inside grad and used after it returns raises the escaped-tracer error`` () =
    assertTracerEscapes "grad" (fun x -> x * 2.0) Tensor.sum grad (Tensor.ofArray [| 1.0 |])
    |> ignore

[<Fact>]
let ``reading the value of an escaped tracer raises the escaped-tracer error`` () =
    let mutable leaked = Unchecked.defaultof<Tensor>

    jvp
        (fun x ->
            leaked <- x
            x)
        (Tensor.scalar 1.0)
        (Tensor.scalar 1.0)
    |> ignore

    Assert.Throws<EscapedTracerException>(fun () -> float leaked |> ignore)
    |> ignore

[<Fact>]
let ``toScalar under makeIR raises the concretization error`` () =
    let e =
        Assert.Throws<ConcretizationException>(fun () ->
            makeIR (fun x -> if float x > 0.0 then x else -x) (Tensor.scalar 1.0) |> ignore)

    Assert.Contains("makeIR", e.Message)

[<Fact>]
let ``toScalar under grad reads the primal so if on values works`` () =
    let relu (x: Tensor) =
        if float x > 0.0 then x * x else x * 0.0

    Assert.Equal(6.0, float (grad relu (Tensor.scalar 3.0)))
    Assert.Equal(0.0, float (grad relu (Tensor.scalar -3.0)))

[<Fact>]
let ``the stack is empty again after a transform raises`` () =
    Assert.Throws<NonScalarOutputException>(fun () -> grad (fun x -> x * 2.0) (Tensor.ofArray [| 1.0; 2.0 |]) |> ignore)
    |> ignore

    Assert.Null(Interpreter.Current)
    Assert.Equal(4.0, float (grad (fun x -> x * x) (Tensor.scalar 2.0)))

// ---- Diff.withDebugNans: a scoped switch, not a global flag ----------------------------------

[<Fact>]
let ``withDebugNans raises at the first primitive that produces a NaN and names it`` () =
    let e =
        Assert.Throws<NanException>(fun () ->
            Diff.withDebugNans (fun () -> Tensor.log (Tensor.ofArray [| 1.0; -1.0 |]))
            |> ignore)

    Assert.Contains("log returned NaN", e.Message)
    Assert.Contains("flat index 1", e.Message)
    Assert.Contains("it produced the first NaN", e.Message)

[<Fact>]
let ``withDebugNans names the transform and, in the backward pass, shows the equations around`` () =
    let forward =
        Assert.Throws<NanException>(fun () ->
            Diff.withDebugNans (fun () -> grad (fun x -> Tensor.sum (sqrt x * log x)) (Tensor.ofArray [| 0.0; 1.0 |]))
            |> ignore)

    Assert.Contains("mul returned NaN", forward.Message)
    Assert.Contains("inside grad", forward.Message)

    let backward =
        Assert.Throws<NanException>(fun () ->
            Diff.withDebugNans (fun () -> grad (fun x -> Tensor.sum (sqrt x * sqrt x)) (Tensor.ofArray [| 0.0; 1.0 |]))
            |> ignore)

    Assert.Contains("transposing", backward.Message)
    Assert.Contains("equations around", backward.Message)
    Assert.Contains("=>", backward.Message)

[<Fact>]
let ``withDebugNans is scoped: nothing is checked outside it or on threads that do not inherit it`` () =
    let nanOutside = Tensor.log (Tensor.scalar -1.0)
    Assert.True(System.Double.IsNaN(float nanOutside))

    Diff.withDebugNans (fun () ->
        // a thread started without the execution context does not inherit the switch
        // (a dedicated thread: a Task's Result could run it inline on this thread's context)
        let mutable result = Tensor.scalar 0.0
        let worker = Thread(fun () -> result <- Tensor.log (Tensor.scalar -1.0))

        do
            use suppressed = ExecutionContext.SuppressFlow()
            worker.Start()

        worker.Join()
        Assert.True(System.Double.IsNaN(float result)))

    Assert.False(Interpreter.DebuggingNans)

[<Fact>]
let ``the documented safe where pattern keeps NaN out of the gradient`` () =
    let x = Tensor.ofArray [| -1.0; 4.0 |]
    // naive: the untaken branch sqrt(-1) = NaN poisons the gradient through the zero cotangent
    let naive (x: Tensor) =
        Tensor.sum (Tensor.where (Tensor.gt x (Tensor.scalar 0.0)) (sqrt x) (Tensor.scalar 0.0))

    Assert.True(System.Double.IsNaN((Tensor.toArray (grad naive x)).[0]))
    // safe: the unsafe op sees a harmless value where its result is not used
    let safe (x: Tensor) =
        let positive = Tensor.gt x (Tensor.scalar 0.0)
        Tensor.sum (Tensor.where positive (sqrt (Tensor.where positive x (Tensor.scalar 1.0))) (Tensor.scalar 0.0))

    Assert.Equal<float[]>([| 0.0; 0.25 |], Tensor.toArray (grad safe x))
    Diff.withDebugNans (fun () -> grad safe x) |> ignore

// ---- concurrency at scale (the reliability issue's figures) -------------------------------

let private work (k: int) =
    let x =
        Tensor.ofArray [| 0.1 * float (k % 17); 0.3 - 0.01 * float k; 0.5 + 0.001 * float k |]

    let g = grad f x
    let h = hvp f x (Tensor.ofArray [| 1.0; -0.5; 0.25 |])
    Array.append (Tensor.toArray g) (Tensor.toArray h)

[<Fact>]
let ``8 threads each computing 500 gradients and Hessian-vector products match the sequential results exactly`` () =
    let expected = Array.init 8 (fun t -> Array.init 500 (fun i -> work (t * 500 + i)))
    let actual = Array.zeroCreate 8
    let start = new Barrier(8)

    let threads =
        Array.init 8 (fun t ->
            Thread(fun () ->
                start.SignalAndWait()
                actual.[t] <- Array.init 500 (fun i -> work (t * 500 + i))))

    threads |> Array.iter (fun th -> th.Start())
    threads |> Array.iter (fun th -> th.Join())

    for t in 0..7 do
        for i in 0..499 do
            Assert.Equal<float[]>(expected.[t].[i], actual.[t].[i])

[<Fact>]
let ``100 concurrent tasks that await inside functions under grad give the sequential results`` () =
    let g (k: int) (x: Tensor) =
        task {
            let y = sin x * float k
            do! Task.Yield()
            do! Task.Delay(k % 3)
            let z = y * x
            do! Task.Yield()
            return Tensor.sum (z + exp (x * 0.1))
        }
        |> fun t -> t.Result

    let point (k: int) =
        Tensor.ofArray [| 0.2 + 0.01 * float k; -0.4 |]

    let expected = Array.init 100 (fun k -> Tensor.toArray (grad (g k) (point k)))
    // grad is synchronous, so each task blocks until its awaits finish: long-running tasks get
    // their own threads and leave the pool free for the continuations (no starvation)
    let tasks =
        Array.init 100 (fun k ->
            Task.Factory.StartNew((fun () -> Tensor.toArray (grad (g k) (point k))), TaskCreationOptions.LongRunning))

    let actual = Task.WhenAll(tasks).Result

    for k in 0..99 do
        Assert.Equal<float[]>(expected.[k], actual.[k])
