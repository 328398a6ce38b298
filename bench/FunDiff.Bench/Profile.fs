/// `profile vmap`: where the vmap workloads' time goes. Each workload is staged (`makeIR`), so
/// its program holds exactly the primitives the eager call binds (batched ones, under vmap);
/// the program is then evaluated equation by equation with a Stopwatch around each
/// `Interpreter.Bind`, and the kernels' times are summed by primitive and shapes. The eager
/// call's time minus the kernels' total is what the transforms themselves cost (tracing,
/// batch rules, linearization, transposition, dispatch).
module FunDiff.Bench.Profile

open System
open System.Diagnostics
open FunDiff
open FunDiff.Bench.Workloads

/// Evaluates `p` on `args` as Program.eval does, timing each equation; returns the seconds of
/// each equation (in program order).
let timedEval (p: Program) (args: Tensor[]) : float[] =
    let env: Tensor[] = Array.zeroCreate p.NumVars

    for i in 0 .. p.ConstVars.Length - 1 do
        env.[p.ConstVars.[i].Id] <- p.Consts.[i]

    for i in 0 .. p.InVars.Length - 1 do
        env.[p.InVars.[i].Id] <- args.[i]

    let read (a: Atom) =
        match a with
        | Atom.Var v -> env.[v.Id]
        | Atom.Literal t -> t

    let times = Array.zeroCreate p.Equations.Length

    for i in 0 .. p.Equations.Length - 1 do
        let e = p.Equations.[i]
        let inputs = [| for a in e.Inputs -> read a |]
        let sw = Stopwatch.StartNew()
        let outs = Interpreter.Bind(e.Primitive, inputs, e.Params)
        times.[i] <- sw.Elapsed.TotalSeconds

        for j in 0 .. outs.Length - 1 do
            env.[e.Outputs.[j].Id] <- outs.[j]

    times

let private shapeText (shape: int[]) = "[" + String.Join("×", shape) + "]"

/// An equation's primitive and shapes, as the rows group by: `dot_general [64×784] [784×256] → [64×256]`.
let private signature (e: Equation) =
    let ins =
        [ for a in e.Inputs -> shapeText a.Aval.Shape ]
        |> List.countBy id
        |> List.collect (fun (s, c) ->
            if c <= 2 then
                List.replicate c s
            else
                [ sprintf "%d × %s" c s ])

    let outs = [ for v in e.Outputs -> shapeText v.Aval.Shape ]

    let pars =
        if e.Primitive.Name = "dot_general" then
            sprintf "%O " e.Params
        else
            ""

    sprintf "%s %s%s → %s" e.Primitive.Name pars (String.Join(" ", ins)) (String.Join(" ", outs))

/// Warms both up (at least 30 calls each and 1.5 s in all, so that tiered JIT has promoted the
/// hot methods), then runs `reps` timed evaluations and `reps` eager calls: the median per
/// equation, the median of the evaluations' kernel totals, the median eager call and their ratio.
let private measure (reps: int) (skipLast: int) (eager: unit -> unit) (p: Program) (args: Tensor[]) =
    let warm = Stopwatch.StartNew()
    let mutable calls = 0

    while calls < 30 || warm.Elapsed.TotalSeconds < 1.5 do
        timedEval p args |> ignore
        eager ()
        calls <- calls + 1

    let counted = p.Equations.Length - skipLast
    let runs = Array.zeroCreate reps
    let eagerTimes = Array.zeroCreate reps

    // in separate blocks: an eager call right after a timed evaluation of its own program ran
    // up to 2× faster than in a row of eager calls (hessian n = 100: 170 µs against 331 µs),
    // which made the transforms' share look smaller than it is
    for r in 0 .. reps - 1 do
        runs.[r] <- timedEval p args

    for r in 0 .. reps - 1 do
        let sw = Stopwatch.StartNew()
        eager ()
        eagerTimes.[r] <- sw.Elapsed.TotalSeconds

    let perEquation =
        Array.init p.Equations.Length (fun i -> QuickRunner.median (runs |> Array.map (fun r -> r.[i])))

    let totals = runs |> Array.map (fun r -> Array.sum r.[.. counted - 1])
    let kernels, eagerMedian = QuickRunner.median totals, QuickRunner.median eagerTimes
    perEquation, kernels, eagerMedian, kernels / eagerMedian

/// Prints one workload's profile: the eager call, the kernels' total, and the `top` heaviest
/// (primitive, shapes) groups. `skipLast` equations at the end (the bench's own concatenation
/// of the result's leaves into one output) are left out of the kernels' total.
let private report (name: string) (reps: int) (top: int) (skipLast: int) (eager: unit -> unit) (p: Program) args =
    let perEquation, kernels, eagerSeconds, share = measure reps skipLast eager p args
    let counted = perEquation.Length - skipLast
    printfn ""
    printfn "### %s" name
    printfn ""

    printfn
        "eager call %s (median of a block of calls); %d equations, their kernels %s in all (median of a block of timed evaluations; %s of the call); the rest, ~%s, is roughly the transforms' own work (noisy: compare the single-call table's Program.eval rows)"
        (Units.time eagerSeconds)
        counted
        (Units.time kernels)
        (Units.percent share)
        (Units.time (eagerSeconds - kernels))

    printfn ""
    printfn "| primitive and shapes | count | time | share of kernels |"
    printfn "|---|---|---|---|"

    let groups =
        [ for i in 0 .. counted - 1 -> signature p.Equations.[i], perEquation.[i] ]
        |> List.groupBy fst
        |> List.map (fun (s, xs) -> s, xs.Length, List.sumBy snd xs)
        |> List.sortByDescending (fun (_, _, t) -> t)

    for s, c, t in List.truncate top groups do
        printfn "| `%s` | %d | %s | %s |" s c (Units.time t) (Units.percent (t / kernels))

    let byPrimitive =
        [ for i in 0 .. counted - 1 -> p.Equations.[i].Primitive.Name, perEquation.[i] ]
        |> List.groupBy fst
        |> List.map (fun (s, xs) -> s, xs.Length, List.sumBy snd xs)
        |> List.sortByDescending (fun (_, _, t) -> t)

    printfn ""

    printfn
        "by primitive: %s"
        (String.Join(", ", [ for s, c, t in byPrimitive -> sprintf "%s ×%d %s" s c (Units.time t) ]))

/// The leaves of an MLP-shaped result as one flat tensor (the staged program's single output).
let private flat (g: Mlp) =
    Tensor.concat 0 [ for t in [ g.W1; g.B1; g.W2; g.B2 ] -> Tensor.reshape [| t.Size |] t ]

/// The per-example W1 gradient's product (the outer products x_iᵀ δ_i, 64 × 784 × 256 values)
/// by the backend alone, beside the eager workloads, in interleaved rounds: batched as vmap's
/// program binds it, as 64 separate products (the loop's), the batch gradient's xᵀ δ (one
/// 784 × 256 result), and writing 64 × 784 × 256 doubles (98 MiB) into a fresh or a reused
/// array: the memory floor under any per-example W1 gradient.
let private outerProducts () =
    let nd (shape: int[]) seed =
        let r = Random(seed: int)
        Backend.NDArray.ofData shape Float64 (Array.init (Array.fold (*) 1 shape) (fun _ -> r.NextDouble() - 0.5))

    let b, i, h = mlpBatch, mlpIn, mlpHidden
    let xs3, ds3 = nd [| b; 1; i |] 1, nd [| b; 1; h |] 2
    let xs = [| for e in 0 .. b - 1 -> nd [| 1; i |] (10 + e) |]
    let ds = [| for e in 0 .. b - 1 -> nd [| 1; h |] (100 + e) |]
    let x2, d2 = nd [| b; i |] 3, nd [| b; h |] 4
    let size = b * i * h
    let reused: float[] = Array.zeroCreate size
    let x, y = mlpData ()
    let p = mlpParams ()
    let batchGrad = Tree.grad (mlpLoss x y)

    let cases: QuickRunner.Case list =
        [
            {
                Key = "vmap"
                Label = "eager: Tree.vmap of Tree.grad (64 examples)"
                Run = fun () -> sink <- VmapWorkloads.perExampleGradsVmap p (x, y)
            }
            {
                Key = "loop"
                Label = "eager: loop of 64 Tree.grad"
                Run = fun () -> sink <- VmapWorkloads.perExampleGradsLoop p (x, y)
            }
            {
                Key = "batch"
                Label = "eager: one batch gradient"
                Run = fun () -> sink <- batchGrad p
            }
            {
                Key = "outer.batched"
                Label = "backend: dot_general [64×1×784]·[64×1×256] → [64×784×256] (vmap's)"
                Run = fun () -> sink <- Backend.DotGeneral.apply [| 1 |] [| 1 |] [| 0 |] [| 0 |] xs3 ds3
            }
            {
                Key = "outer.loop"
                Label = "backend: 64 × dot_general [1×784]ᵀ·[1×256] → [784×256] (the loop's)"
                Run =
                    fun () ->
                        sink <- Array.init b (fun e -> Backend.DotGeneral.apply [| 0 |] [| 0 |] [||] [||] xs.[e] ds.[e])
            }
            {
                Key = "outer.batchgrad"
                Label = "backend: dot_general [64×784]ᵀ·[64×256] → [784×256] (the batch gradient's)"
                Run = fun () -> sink <- Backend.DotGeneral.apply [| 0 |] [| 0 |] [||] [||] x2 d2
            }
            {
                Key = "fill.fresh"
                Label = "write 64×784×256 doubles (98 MiB) into a fresh array"
                Run =
                    fun () ->
                        let a = GC.AllocateUninitializedArray<float> size
                        Array.Fill(a, 1.0)
                        sink <- a
            }
            {
                Key = "fill.reused"
                Label = "write 64×784×256 doubles (98 MiB) into a reused array"
                Run = fun () -> Array.Fill(reused, 1.0)
            }
        ]

    let settings =
        { QuickRunner.defaultSettings with
            Rounds = 11
        }

    printfn ""
    printfn "### The per-example W1 gradient's product and the memory floor (interleaved rounds)"
    printfn ""
    let ms = QuickRunner.measure settings ignore cases

    let find key =
        ms |> List.find (fun m -> m.Case.Key = key)

    printfn "| case | median | vs eager vmap (paired) |"
    printfn "|---|---|---|"

    for m in ms do
        printfn
            "| %s | %s | %s |"
            m.Case.Label
            (Units.time m.MedianSeconds)
            (Units.ratio (QuickRunner.pairedRatio m (find "vmap")))

/// Table 11's cases alone in a fresh process (no MLP or scalar-loop rows in the rounds), with
/// their GC figures: how much of the batched-vs-loop ratio depends on the heap the other rows
/// leave behind.
let private jacobiansAlone () =
    let cases =
        QuickRunner.vmapCases ()
        |> List.filter (fun c -> c.Key.StartsWith "vmap.hess" || c.Key.StartsWith "vmap.jacrev")

    printfn ""
    printfn "### Table 11's cases measured alone (interleaved rounds, fresh process)"
    printfn ""
    let ms = QuickRunner.measure QuickRunner.vmapSettings ignore cases

    let find key =
        ms |> List.find (fun m -> m.Case.Key = key)

    printfn "| case | median | min | GC pause per call | gen-0 GCs per call | allocated per call |"
    printfn "|---|---|---|---|---|---|"

    for m in ms do
        printfn
            "| %s | %s | %s | %s | %s | %s |"
            m.Case.Label
            (Units.time m.MedianSeconds)
            (Units.time m.MinSeconds)
            (Units.time m.GcPausePerCall)
            (Units.sig3 m.Gen0PerCall)
            (Units.bytes m.MedianBytes)

    for loop, batched in
        [
            "vmap.hess.loop.100", "vmap.hess.new.100"
            "vmap.hess.loop.300", "vmap.hess.new.300"
            "vmap.jacrev.loop", "vmap.jacrev.new"
        ] do
        printfn "loop / batched, %s: %s" batched (Units.ratio (QuickRunner.pairedRatio (find loop) (find batched)))

/// Single calls of `f` (after a warm-up): the median, the mean and the mean share of GC pause,
/// over `calls` calls timed one by one: a median well under the mean is a cost paid by some
/// calls only (collections), which the quick runner's batches average in.
let private singleCalls (name: string) (calls: int) (f: unit -> unit) =
    let warm = Stopwatch.StartNew()

    while warm.Elapsed.TotalSeconds < 1.0 do
        f ()

    let times = Array.zeroCreate calls
    let pause0 = GC.GetTotalPauseDuration()
    let gen0 = GC.CollectionCount 0
    let total = Stopwatch.StartNew()

    for i in 0 .. calls - 1 do
        let sw = Stopwatch.StartNew()
        f ()
        times.[i] <- sw.Elapsed.TotalSeconds

    let elapsed = total.Elapsed.TotalSeconds
    let pause = (GC.GetTotalPauseDuration() - pause0).TotalSeconds

    printfn
        "| %s | %s | %s | %s | %s |"
        name
        (Units.time (QuickRunner.median times))
        (Units.time (elapsed / float calls))
        (Units.time (pause / float calls))
        (Units.sig3 (float (GC.CollectionCount 0 - gen0) / float calls))

/// The Jacobian rows as single calls, one after another (each workload alone for its calls).
let private jacobianSingleCalls () =
    printfn ""
    printfn "### Table 11's cases as single timed calls (each alone, 1 s warm-up)"
    printfn ""
    printfn "| case | median call | mean call | GC pause per call | gen-0 GCs per call |"
    printfn "|---|---|---|---|---|"

    for n in VmapWorkloads.hessianSizes do
        let x = Tensor.ofArray (rosenbrockInput n)
        let calls = if n = 100 then 2000 else 200
        singleCalls (sprintf "hessian n = %d, batched" n) calls (fun () -> sink <- hessian rosenbrock x)
        let staged = makeIR (hessian rosenbrock) x

        singleCalls
            (sprintf "hessian n = %d, batched: its staged program alone (Program.eval: kernels, no transforms)" n)
            calls
            (fun () -> sink <- Program.eval staged [| x |])

        singleCalls (sprintf "hessian n = %d, loop" n) (calls / 4) (fun () ->
            sink <- VmapWorkloads.hessianLoop rosenbrock x)

    let xe = VmapWorkloads.elementwiseMapInput ()
    singleCalls "jacrev sin x * x, batched" 100 (fun () -> sink <- jacrev VmapWorkloads.elementwiseMap xe)
    let staged = makeIR (jacrev VmapWorkloads.elementwiseMap) xe

    singleCalls "jacrev sin x * x, batched: its staged program alone" 100 (fun () ->
        sink <- Program.eval staged [| xe |])

    singleCalls "jacrev sin x * x, loop" 30 (fun () -> sink <- VmapWorkloads.jacrevLoop VmapWorkloads.elementwiseMap xe)

/// Profiles the vmap workloads whose targets were missed or are close.
let run () =
    jacobianSingleCalls ()
    jacobiansAlone ()
    outerProducts ()

    let x, y = mlpData ()
    let p = mlpParams ()
    let reps = 15

    let vmapProgram =
        makeIR (fun x -> flat (VmapWorkloads.perExampleGradsVmap p (x, y))) x

    report
        "per-example gradients, Tree.vmap of Tree.grad (64 examples)"
        reps
        15
        1
        (fun () -> sink <- VmapWorkloads.perExampleGradsVmap p (x, y))
        vmapProgram
        [| x |]

    let batchProgram = makeIR (fun x -> flat (Tree.grad (mlpLoss x y) p)) x

    report
        "one batch gradient (mean loss over 64 examples)"
        reps
        10
        1
        (fun () -> sink <- Tree.grad (mlpLoss x y) p)
        batchProgram
        [| x |]

    let x0, y0 = Tensor.index 0 x, Tensor.index 0 y

    let oneProgram =
        makeIR (fun x0 -> flat (Tree.grad (fun p -> VmapWorkloads.mlpExampleLoss p (x0, y0)) p)) x0

    report
        "one per-example gradient (one of the loop's 64 Tree.grad calls)"
        reps
        10
        1
        (fun () -> sink <- Tree.grad (fun p -> VmapWorkloads.mlpExampleLoss p (x0, y0)) p)
        oneProgram
        [| x0 |]

    for n in VmapWorkloads.hessianSizes do
        let xh = Tensor.ofArray (rosenbrockInput n)

        report
            (sprintf "hessian rosenbrock, n = %d, batched" n)
            reps
            15
            0
            (fun () -> sink <- hessian rosenbrock xh)
            (makeIR (hessian rosenbrock) xh)
            [| xh |]

        report
            (sprintf "hessian rosenbrock, n = %d, loop over the basis" n)
            reps
            10
            0
            (fun () -> sink <- VmapWorkloads.hessianLoop rosenbrock xh)
            (makeIR (VmapWorkloads.hessianLoop rosenbrock) xh)
            [| xh |]

    let xe = VmapWorkloads.elementwiseMapInput ()

    report
        "jacrev (sin x * x), batched"
        reps
        10
        0
        (fun () -> sink <- jacrev VmapWorkloads.elementwiseMap xe)
        (makeIR (jacrev VmapWorkloads.elementwiseMap) xe)
        [| xe |]

    report
        "jacrev (sin x * x), loop over the basis"
        reps
        10
        0
        (fun () -> sink <- VmapWorkloads.jacrevLoop VmapWorkloads.elementwiseMap xe)
        (makeIR (VmapWorkloads.jacrevLoop VmapWorkloads.elementwiseMap) xe)
        [| xe |]

    0

/// `profile jit`: where the jitted array workloads' time goes. The jit primitive's body is the
/// program `makeIR` stages from the traced function; this first executor binds each of its
/// array equations on concrete tensors, so the body evaluated equation by equation (a
/// Stopwatch per `Interpreter.Bind`) shows which equations dominate the jitted call, and the
/// jitted call minus the equations' total is the executor's own overhead (plus noise).
let runJit () =
    let xs, ys = JitWorkloads.elementwiseInputs ()
    let ws = JitWorkloads.workloads (Tensor.ofArray ys) (Tensor.ofArray xs)

    // the small rows alone: jit against eager in alternating blocks of calls (no other case
    // between them), the per-call median over 15 blocks of each
    printfn "jit against eager alone, alternating blocks of calls (median over 15 blocks):"
    printfn ""
    printfn "| workload | jit | eager | jit / eager |"
    printfn "|---|---|---|---|"

    for w in ws do
        if w.Input.Size <= 1000 then
            let j = JitWorkloads.fresh w
            let x = w.Input
            let calls = if w.Input.Size = 1 then 200 else 2000

            let block (run: unit -> unit) =
                let sw = Stopwatch.StartNew()

                for _ in 1..calls do
                    run ()

                sw.Elapsed.TotalSeconds / float calls

            let jitRun () = sink <- j.Invoke x
            let eagerRun () = sink <- w.Traced x

            for _ in 1..5 do
                block jitRun |> ignore
                block eagerRun |> ignore

            let pairs = Array.init 15 (fun _ -> block jitRun, block eagerRun)
            let jt = QuickRunner.median (Array.map fst pairs)
            let et = QuickRunner.median (Array.map snd pairs)
            printfn "| %s | %s | %s | %s |" w.Label (Units.time jt) (Units.time et) (Units.ratio (jt / et))

    for w in ws do
        if w.Input.Size >= 1000 then
            let j = JitWorkloads.fresh w
            let x = w.Input
            let p = makeIR w.Traced x

            let perEquation, kernels, call, share =
                measure 11 0 (fun () -> sink <- j.Invoke x) p [| x |]

            printfn ""
            printfn "### jit %s" w.Label
            printfn ""

            printfn
                "jitted call %s; its %d equations bound one by one %s in all (%s of the call)"
                (Units.time call)
                p.Equations.Length
                (Units.time kernels)
                (Units.percent share)

            printfn ""
            printfn "| primitive and shapes | count | time | share of the equations |"
            printfn "|---|---|---|---|"

            let groups =
                [
                    for i in 0 .. p.Equations.Length - 1 -> signature p.Equations.[i], perEquation.[i]
                ]
                |> List.groupBy fst
                |> List.map (fun (s, xs) -> s, xs.Length, List.sumBy snd xs)
                |> List.sortByDescending (fun (_, _, t) -> t)

            for s, c, t in List.truncate 8 groups do
                printfn "| `%s` | %d | %s | %s |" s c (Units.time t) (Units.percent (t / kernels))

    0
