/// jit's evaluation of a closed program on concrete values, resolved once per program.
/// Equations on float64 scalars (rank 0) become straight-line instructions over a register
/// file of floats: the primitive's scalar function applied, with no bind, no tensor, no
/// shape rule and no dispatch per equation (what a scalar loop spends its time on). Every other
/// equation binds its primitive on concrete tensors as evaluation does (kernels, checks and
/// all). Fused array loops are the next step behind the same entry point.
module internal FunDiff.Compiler.Executor

open FunDiff

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

/// A program resolved into steps over two register files (floats for rank-0 float64
/// variables, tensors for the rest), indexed by variable id.
[<Sealed>]
type Compiled
    private
    (
        steps: Step[],
        inputs: Slot[],
        outputs: Slot[],
        floatCount: int,
        tensorCount: int,
        floatConsts: (int * float)[],
        tensorConsts: (int * Tensor)[]
    ) =

    // register files reused by the next call on this thread, so a steady-state call allocates
    // its outputs (and what the kernels of its array steps allocate), not a register per
    // equation; a re-entrant call on the same thread (through a user primitive) takes fresh ones
    let spare = new System.Threading.ThreadLocal<struct (float[] * Tensor[])>()

    /// Resolves a closed program (no consts: the captured values are its first inputs).
    static member Of(p: Program) =
        let isScalar (aval: Aval) =
            aval.Rank = 0 && aval.DType = DType.Float64

        // every variable gets a slot of its kind; literals get registers of their own
        let mutable floats = 0
        let mutable tensors = 0
        let slotOf = Array.zeroCreate<Slot voption> p.NumVars
        let floatConsts = ResizeArray()
        let tensorConsts = ResizeArray()

        let newSlot (aval: Aval) =
            if isScalar aval then
                floats <- floats + 1
                Scalar(floats - 1)
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

        let steps =
            p.EquationArray
            |> Array.map (fun e ->
                let ins = e.InputArray |> Array.map atomSlot
                let outs = e.OutputArray |> Array.map varSlot

                match e.Primitive.Scalar, ins, outs with
                | ScalarFunction.Unary f, [| Scalar a |], [| Scalar o |] -> Unary(f, a, o)
                | ScalarFunction.Binary f, [| Scalar a; Scalar b |], [| Scalar o |] -> Binary(f, a, b, o)
                | _ -> General(e.Primitive, e.Params, ins, outs))

        let outputs = p.OutputArray |> Array.map atomSlot

        Compiled(steps, inputs, outputs, floats, tensors, floatConsts.ToArray(), tensorConsts.ToArray())

    /// Runs the program on concrete inputs (no trace is current: the caller's job).
    member this.Run(args: Tensor[]) : Tensor[] =
        let struct (kept, keptTensors) = spare.Value

        let fs, ts =
            if isNull kept then
                Array.zeroCreate<float> floatCount, Array.zeroCreate<Tensor> tensorCount
            else
                spare.Value <- struct (null, null)
                kept, keptTensors

        try
            this.RunWith(args, fs, ts)
        finally
            // the tensors are dropped (a kept register must not keep an array alive)
            System.Array.Clear ts
            spare.Value <- struct (fs, ts)

    member private _.RunWith(args: Tensor[], fs: float[], ts: Tensor[]) : Tensor[] =

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

        Array.map load outputs
