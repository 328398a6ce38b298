/// jit's evaluation of a closed program on concrete values, resolved once per program.
/// Equations on float64 scalars (rank 0) become straight-line instructions over a register
/// file of floats: the primitive's scalar function applied, with no bind, no tensor, no
/// shape rule and no dispatch per equation (what a scalar loop spends its time on). Chains of
/// elementwise equations over arrays of one shape run as fused loops (`Fusion` groups them,
/// `FusedLoop` runs them a tile at a time). Every other equation binds its primitive on
/// concrete tensors as evaluation does (kernels, checks and all).
module internal FunDiff.Compiler.Executor

open System.Collections.Generic
open FunDiff
open FunDiff.Compiler.FusedLoop

/// Where an operand's value is read.
[<Struct>]
type private Slot =
    /// A float register.
    | Scalar of scalar: int
    /// A tensor register.
    | Boxed of boxed: int

/// One step of a compiled program.
type private Step =
    /// floats[output] ← f floats[input].
    | Unary of unary: (float -> float) * input: int * output: int
    /// floats[output] ← f floats[a] floats[b].
    | Binary of binary: (float -> float -> float) * a: int * b: int * output: int
    /// The primitive bound on concrete tensors; scalar outputs are also kept as floats.
    | General of prim: Primitive * pars: Params * inputs: Slot[] * outputs: Slot[]
    /// A fused loop over the registers.
    | Fused of loop: Loop

/// One thread's registers for a compiled program: floats, tensors, the fused loops' tile
/// scratch and the buffer plan's arrays.
[<Sealed; AllowNullLiteral>]
type private Registers(floats: int, tensors: int, scratch: int, temporaries: int[]) =
    member val Floats = Array.zeroCreate<float> floats
    member val Tensors = Array.zeroCreate<Tensor> tensors
    member val Scratch = Array.zeroCreate<float> scratch
    member val Temporaries = temporaries |> Array.map (fun n -> Array.zeroCreate<float> n)

/// A program resolved into steps over two register files (floats for rank-0 float64
/// variables and the loops' one-number values, tensors for the rest), indexed by variable id.
[<Sealed>]
type Compiled
    private
    (
        steps: Step[],
        inputs: Slot[],
        outputs: Slot[],
        floatCount: int,
        tensorCount: int,
        scratchLength: int,
        temporarySizes: int[],
        floatConsts: (int * float)[],
        tensorConsts: (int * Tensor)[],
        plan: Fusion.Plan
    ) =

    // registers reused by the next call on this thread, so a steady-state call allocates its
    // outputs (and what the kernels of its unfused array steps allocate), not a register per
    // equation nor an array per fused intermediate; a re-entrant call on the same thread
    // (through a user primitive) takes fresh ones
    let spare = new System.Threading.ThreadLocal<Registers>()

    /// How the program's equations were grouped into fused loops.
    member internal _.Plan = plan

    /// Resolves a closed program (no consts: the captured values are its first inputs).
    static member Of(p: Program) =
        let isScalar (aval: Aval) =
            aval.Rank = 0 && aval.DType = DType.Float64

        let plan = Fusion.plan p
        let equations = p.EquationArray

        // every variable gets a slot of its kind; literals get registers of their own
        let mutable floats = 0
        let mutable tensors = 0
        let slotOf = Array.zeroCreate<Slot voption> p.NumVars
        let floatConsts = ResizeArray()
        let tensorConsts = ResizeArray()

        let newFloat () =
            floats <- floats + 1
            floats - 1

        let newSlot (aval: Aval) =
            if isScalar aval then
                Scalar(newFloat ())
            else
                tensors <- tensors + 1
                Boxed(tensors - 1)

        let varSlot (v: Var) =
            match slotOf.[v.Id] with
            | ValueSome s -> s
            | ValueNone ->
                let s = newSlot v.Aval
                slotOf.[v.Id] <- ValueSome s
                s

        let atomSlot (a: Atom) =
            match a with
            | Atom.Var v -> varSlot v
            | Atom.Literal t ->
                let s = newSlot t.Aval

                match s with
                | Scalar i -> floatConsts.Add((i, (t :?> ConcreteTensor).ScalarValue))
                | Boxed i -> tensorConsts.Add((i, t))

                s

        let inputs = p.InVarArray |> Array.map varSlot

        // a loop value escapes when a step outside its loop, or the program's result, reads it
        let escapes = Array.zeroCreate<bool> p.NumVars

        let readBy (g: int) (a: Atom) =
            match a with
            | Atom.Var v when plan.MemberOf.[v.Id] >= 0 && plan.MemberOf.[v.Id] <> g -> escapes.[v.Id] <- true
            | _ -> ()

        for item in plan.Items do
            match item with
            | Fusion.Single i -> equations.[i].InputArray |> Array.iter (readBy -1)
            | Fusion.Fused g ->
                for (i, _) in plan.Groups.[g].Members do
                    equations.[i].InputArray |> Array.iter (readBy g)

        p.OutputArray |> Array.iter (readBy -1)
        let mutable scratchLength = 0

        // the buffer plan: a loop's array value that only later loops read (not an unfused
        // step, which might keep a view of it, nor the result) lives in a buffer of the
        // program's, reused by every call; values whose lives (first loop to last reader) do
        // not overlap share one
        let temporaryOf = Array.create p.NumVars -1
        let temporarySizes = ResizeArray<int>()

        (let unfusedReader = Array.zeroCreate<bool> p.NumVars
         let lastReader = Array.create p.NumVars -1

         let mark (unfused: bool) (k: int) (a: Atom) =
             match a with
             | Atom.Var v ->
                 lastReader.[v.Id] <- k

                 if unfused then
                     unfusedReader.[v.Id] <- true
             | Atom.Literal _ -> ()

         plan.Items
         |> Array.iteri (fun k item ->
             match item with
             | Fusion.Single i -> equations.[i].InputArray |> Array.iter (mark true k)
             | Fusion.Fused g ->
                 for (i, role) in plan.Groups.[g].Members do
                     // a window read outside its loop is bound as a view before the loop
                     let viewedOutside =
                         match role with
                         | Fusion.Viewed _ -> escapes.[equations.[i].OutputArray.[0].Id]
                         | _ -> false

                     equations.[i].InputArray |> Array.iter (mark viewedOutside k))

         p.OutputArray |> Array.iter (mark true plan.Items.Length)
         // buffer b is free from the item after freeAfter.[b] on
         let freeAfter = ResizeArray<int>()

         plan.Items
         |> Array.iteri (fun k item ->
             match item with
             | Fusion.Single _ -> ()
             | Fusion.Fused g ->
                 for (i, role) in plan.Groups.[g].Members do
                     let v = equations.[i].OutputArray.[0]

                     let writes =
                         match role with
                         | Fusion.Viewed _ -> false
                         | _ -> true

                     if
                         writes
                         && escapes.[v.Id]
                         && not plan.Uniform.[v.Id]
                         && plan.MemberOf.[v.Id] = g
                         && not unfusedReader.[v.Id]
                     then
                         let size = v.Aval.Size
                         // a free buffer (the largest is grown to fit if none is big enough)
                         let mutable chosen = -1

                         for b in 0 .. freeAfter.Count - 1 do
                             if
                                 freeAfter.[b] < k
                                 && (chosen < 0 || temporarySizes.[b] > temporarySizes.[chosen])
                             then
                                 chosen <- b

                         if chosen < 0 then
                             temporarySizes.Add size
                             freeAfter.Add lastReader.[v.Id]
                             chosen <- temporarySizes.Count - 1
                         else
                             temporarySizes.[chosen] <- max size temporarySizes.[chosen]
                             freeAfter.[chosen] <- lastReader.[v.Id]

                         temporaryOf.[v.Id] <- chosen))

        let loopOf (g: int) =
            let group = plan.Groups.[g]
            let arrays = ResizeArray<LoopArray>()
            let arrayOf = Dictionary<int, int>()
            let uniforms = ResizeArray<Uniform>()
            let uniformOutputs = ResizeArray()
            let instructions = ResizeArray<Instruction>()
            let sums = ResizeArray<int>()
            // the loop values' lanes, and the one-number values' float registers
            let lanes = Dictionary<int, Lane>()
            let registers = Dictionary<int, int>()

            // scratch slots: one per value nothing outside reads, freed after its last use
            let lastUse = Dictionary<int, int>()

            group.Members
            |> Array.iteri (fun j (i, _) ->
                for a in equations.[i].InputArray do
                    match a with
                    | Atom.Var v -> lastUse.[v.Id] <- j
                    | Atom.Literal _ -> ())

            let free = Stack<int>()
            let mutable slots = 0

            let takeSlot () =
                if free.Count > 0 then
                    free.Pop()
                else
                    slots <- slots + 1
                    slots - 1

            let arrayFor (v: Var) (make: unit -> LoopArray) =
                match arrayOf.TryGetValue v.Id with
                | true, k -> k
                | _ ->
                    arrays.Add(make ())
                    arrayOf.[v.Id] <- arrays.Count - 1
                    arrays.Count - 1

            let floatOf (a: Atom) =
                match a with
                | Atom.Var v when registers.ContainsKey v.Id -> registers.[v.Id]
                | a ->
                    match atomSlot a with
                    | Scalar r -> r
                    | Boxed _ -> invalidOp "a fused loop reads a rank-0 float64 operand from a float register"

            let laneOf (a: Atom) =
                match a with
                | Atom.Var v when lanes.ContainsKey v.Id -> lanes.[v.Id]
                | Atom.Var v when registers.ContainsKey v.Id -> Repeated registers.[v.Id]
                | Atom.Var v when temporaryOf.[v.Id] >= 0 ->
                    Whole(arrayFor v (fun () -> Temporary(temporaryOf.[v.Id], v.Aval.Size)))
                | Atom.Var v when v.Aval.Rank >= 1 ->
                    match varSlot v with
                    | Boxed t -> Whole(arrayFor v (fun () -> Input t))
                    | Scalar _ -> invalidOp "an array operand has a tensor register"
                | a -> Repeated(floatOf a)

            group.Members
            |> Array.iteri (fun j (i, role) ->
                let e = equations.[i]
                let out = e.OutputArray.[0]
                let ins = e.InputArray

                match role with
                | Fusion.Viewed offset ->
                    // a window of an array computed before the loop: read in place, no instruction
                    let source =
                        match ins.[0] with
                        | Atom.Var v when temporaryOf.[v.Id] >= 0 -> Temporary(temporaryOf.[v.Id], v.Aval.Size)
                        | Atom.Var v ->
                            match varSlot v with
                            | Boxed t -> Input t
                            | Scalar _ -> invalidOp "a window's operand is an array"
                        | Atom.Literal _ -> invalidOp "a window's operand is a variable"

                    lanes.[out.Id] <- Whole(arrayFor out (fun () -> Window(source, offset, out.Aval.Size)))
                | _ when plan.Uniform.[out.Id] ->
                    let r = newFloat ()
                    registers.[out.Id] <- r

                    match role, ins with
                    | Fusion.Repeats, [| x |] -> uniforms.Add(UniformCopy(floatOf x, r))
                    | Fusion.Mapped f, [| x |] -> uniforms.Add(UniformMap(f, floatOf x, r))
                    | Fusion.Zipped f, [| x; y |] -> uniforms.Add(UniformZip(f, floatOf x, floatOf y, r))
                    | _ -> invalidOp "only repeats, maps and zips give one-number values"

                    if escapes.[out.Id] then
                        match varSlot out with
                        | Boxed t -> uniformOutputs.Add((r, t, out.Aval))
                        | Scalar _ -> invalidOp "a loop value has a tensor register"
                | _ ->
                    let sources = ins |> Array.map laneOf

                    // a large output is computed into scratch and streamed to its array
                    let mutable streamTo = -1

                    let dst =
                        match role with
                        | Fusion.Summed -> Repeated -1
                        | _ when temporaryOf.[out.Id] >= 0 ->
                            Whole(arrayFor out (fun () -> Temporary(temporaryOf.[out.Id], out.Aval.Size)))
                        | _ when escapes.[out.Id] ->
                            match varSlot out with
                            | Boxed t ->
                                let k = arrayFor out (fun () -> Output(t, out.Aval))

                                if Backend.Stores.isLarge out.Aval.Size then
                                    streamTo <- k
                                    Scratch(takeSlot ())
                                else
                                    Whole k
                            | Scalar _ -> invalidOp "a loop value has a tensor register"
                        | _ -> Scratch(takeSlot ())

                    match role, sources with
                    | Fusion.Mapped f, [| x |] -> instructions.Add(Map(f, x, dst))
                    | Fusion.Zipped f, [| x; y |] -> instructions.Add(Zip(f, x, y, dst))
                    | Fusion.ShiftedBy offset, _ ->
                        let source =
                            match ins.[0] with
                            | Atom.Var v when temporaryOf.[v.Id] >= 0 ->
                                arrayFor v (fun () -> Temporary(temporaryOf.[v.Id], v.Aval.Size))
                            | Atom.Var v ->
                                match varSlot v with
                                | Boxed t -> arrayFor v (fun () -> Input t)
                                | Scalar _ -> invalidOp "a shifted operand is an array"
                            | Atom.Literal _ -> invalidOp "a shifted operand is a variable"

                        instructions.Add(Shifted(source, offset, dst))
                    | Fusion.Summed, [| x |] ->
                        match varSlot out with
                        | Scalar r ->
                            instructions.Add(Sum(x, r))
                            sums.Add r
                        | Boxed _ -> invalidOp "a sum of every element is a rank-0 float64"
                    | _ -> invalidOp "a fused member's operands do not match its role"

                    if streamTo >= 0 then
                        instructions.Add(Stream(dst, streamTo))

                    match dst with
                    | Repeated _ -> ()
                    | d -> lanes.[out.Id] <- d

                // a scratch slot read for the last time here is free for the next member
                for a in ins do
                    match a with
                    | Atom.Var v when lastUse.[v.Id] = j ->
                        match lanes.TryGetValue v.Id with
                        | true, Scratch k ->
                            free.Push k
                            lanes.Remove v.Id |> ignore
                        | _ -> ()
                    | _ -> ())

            let loop =
                Loop(
                    Shape.size group.Shape,
                    uniforms.ToArray(),
                    arrays.ToArray(),
                    instructions.ToArray(),
                    slots,
                    uniformOutputs.ToArray(),
                    sums.ToArray()
                )

            scratchLength <- max scratchLength loop.ScratchLength
            loop

        let single (e: Equation) =
            let ins = e.InputArray |> Array.map atomSlot
            let outs = e.OutputArray |> Array.map varSlot

            match e.Primitive.Scalar, ins, outs with
            | ScalarFunction.Unary f, [| Scalar a |], [| Scalar o |] -> Unary(f, a, o)
            | ScalarFunction.Binary f, [| Scalar a; Scalar b |], [| Scalar o |] -> Binary(f, a, b, o)
            | _ -> General(e.Primitive, e.Params, ins, outs)

        let steps =
            plan.Items
            |> Array.collect (fun item ->
                match item with
                | Fusion.Single i -> [| single equations.[i] |]
                | Fusion.Fused g ->
                    // a window something outside the loop reads is also bound (a view, no copy)
                    [|
                        for (i, role) in plan.Groups.[g].Members do
                            match role with
                            | Fusion.Viewed _ when escapes.[equations.[i].OutputArray.[0].Id] ->
                                yield single equations.[i]
                            | _ -> ()

                        yield Fused(loopOf g)
                    |])

        let outputs = p.OutputArray |> Array.map atomSlot

        Compiled(
            steps,
            inputs,
            outputs,
            floats,
            tensors,
            scratchLength,
            temporarySizes.ToArray(),
            floatConsts.ToArray(),
            tensorConsts.ToArray(),
            plan
        )

    /// Runs the program on concrete inputs (no trace is current: the caller's job).
    member this.Run(args: Tensor[]) : Tensor[] =
        let registers =
            match spare.Value with
            | null -> Registers(floatCount, tensorCount, scratchLength, temporarySizes)
            | kept ->
                spare.Value <- null
                kept

        try
            this.RunWith(args, registers)
        finally
            // the tensors are dropped (a kept register must not keep an array alive)
            System.Array.Clear registers.Tensors
            spare.Value <- registers

    member private _.RunWith(args: Tensor[], registers: Registers) : Tensor[] =
        let fs, ts = registers.Floats, registers.Tensors

        for (i, v) in floatConsts do
            fs.[i] <- v

        for (i, t) in tensorConsts do
            ts.[i] <- t

        let store (slot: Slot) (t: Tensor) =
            match slot with
            | Scalar i -> fs.[i] <- (t :?> ConcreteTensor).ScalarValue
            | Boxed i -> ts.[i] <- t

        let load (slot: Slot) =
            match slot with
            | Scalar i -> ConcreteTensor(fs.[i]) :> Tensor
            | Boxed i -> ts.[i]

        for i in 0 .. inputs.Length - 1 do
            store inputs.[i] args.[i]

        for step in steps do
            match step with
            | Unary(f, a, o) -> fs.[o] <- f fs.[a]
            | Binary(f, a, b, o) -> fs.[o] <- f fs.[a] fs.[b]
            | General(prim, pars, ins, outs) ->
                let results = Interpreter.Bind(prim, Array.map load ins, pars)

                for k in 0 .. outs.Length - 1 do
                    store outs.[k] results.[k]
            | Fused loop -> loop.Run(fs, ts, registers.Scratch, registers.Temporaries)

        Array.map load outputs

/// How `Compiled.Of` groups a program, for people: one line per fused loop (its shape, its
/// equations' outputs, and which of its values it writes as arrays), and the program printed as
/// `makeIR` prints it with each fused equation tagged by its loop.
let describe (p: Program) : string[] * string =
    let plan = Fusion.plan p
    let name = ProgramText.Names p
    let equations = p.EquationArray
    let loopOf = Array.create equations.Length -1
    let readOutside = HashSet<int>()

    for item in plan.Items do
        match item with
        | Fusion.Single i ->
            for a in equations.[i].InputArray do
                match a with
                | Atom.Var v -> readOutside.Add v.Id |> ignore
                | Atom.Literal _ -> ()
        | Fusion.Fused g ->
            for (i, _) in plan.Groups.[g].Members do
                loopOf.[i] <- g

                for a in equations.[i].InputArray do
                    match a with
                    | Atom.Var v when plan.MemberOf.[v.Id] <> g -> readOutside.Add v.Id |> ignore
                    | _ -> ()

    for a in p.OutputArray do
        match a with
        | Atom.Var v -> readOutside.Add v.Id |> ignore
        | Atom.Literal _ -> ()

    let loops =
        plan.Groups
        |> Array.mapi (fun g group ->
            let outs = group.Members |> Array.map (fun (i, _) -> equations.[i].OutputArray.[0])

            let written =
                outs
                |> Array.filter (fun v -> v.Aval.Rank > 0 && readOutside.Contains v.Id)
                |> Array.map (fun v -> name v.Id)

            let sums =
                outs
                |> Array.filter (fun v -> v.Aval.Rank = 0)
                |> Array.map (fun v -> name v.Id)

            sprintf
                "loop %d over %s: %s (writes %s%s)"
                (g + 1)
                (string (Aval(group.Shape, Float64)))
                (outs |> Array.map (fun v -> name v.Id) |> String.concat " ")
                (if written.Length = 0 then
                     "no array"
                 else
                     String.concat " " written)
                (if sums.Length = 0 then
                     ""
                 else
                     "; sums " + String.concat " " sums))

    let lines = (string p).Split('\n')
    let text = System.Text.StringBuilder()

    lines
    |> Array.iteri (fun k line ->
        // line 0 opens the program; equation i is line i + 1
        let i = k - 1

        if i >= 0 && i < equations.Length && loopOf.[i] >= 0 then
            text.Append(line).Append("    -- loop ").Append(loopOf.[i] + 1).Append('\n')
            |> ignore
        else
            text.Append(line).Append('\n') |> ignore)

    if loops.Length > 0 then
        text.Append(sprintf "fused loops (tiles of %d elements):\n" TileLength)
        |> ignore

        for l in loops do
            text.Append("  ").Append(l).Append('\n') |> ignore

    loops, text.ToString().TrimEnd('\n')
