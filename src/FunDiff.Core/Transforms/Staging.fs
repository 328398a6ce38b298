/// Staging: builds a Program.
/// - Computes: a program of the equations applied to this trace's tracers.
/// - Its tracer carries: a variable of the program under construction (its value is unknown).
/// - Values of other traces: known; an equation whose inputs are all known is never staged but
///   computed by the parent trace (partial evaluation), so a known value enters the program
///   only as a constant (a literal if it is a concrete scalar). Exception: makeIR's trace
///   stages everything bound while it is current (`StagesEverything`), as JAX's make_jaxpr does.
/// The equation list is shared mutable state: appends take a lock, so binding from several
/// threads (Parallel.For inside a staged function) records a valid program.
module FunDiff.Transforms.Staging

open System
open System.Collections.Generic
open FunDiff

type internal StagingTracer(trace: Trace, var: Var) =
    inherit Tracer(trace, var.Aval)
    let atom = Atom.Var var
    member _.Var = var
    /// The operand that stands for this tracer in equations (allocated once).
    member _.Atom = atom

    override t.ToConcrete op =
        raise (
            ConcretizationException(
                sprintf
                    "%s: the value of a tracer of %s (aval %O) is not known while %s stages the function, so it cannot become a number. An if/while on a tensor's value cannot be staged: use Tensor.where for a data-dependent choice, or read the value outside %s."
                    op
                    trace.Transform
                    t.Aval
                    trace.Transform
                    trace.Transform
            )
        )

/// The output avals of `prim` on `inputs`: its shape rule's (which also checks them), or the
/// outputs of its last application when that had equal input avals and the same params (by
/// reference), as a loop binding a primitive on the same shapes does on every iteration.
let private outputAvals (prim: Primitive) (inputs: Tensor[]) (pars: Params) : Aval[] =
    let memo = prim.LastShape

    let hit =
        not (isNull memo)
        && Object.ReferenceEquals(memo.Params, pars)
        && memo.Inputs.Length = inputs.Length
        && (let mutable same = true
            let mutable i = 0

            while same && i < inputs.Length do
                let seen, aval = memo.Inputs.[i], inputs.[i].Aval

                same <-
                    Object.ReferenceEquals(seen, aval)
                    || (seen.DType = aval.DType && Shape.equal seen.Shape aval.Shape)

                i <- i + 1

            same)

    if hit then
        memo.Outputs
    else
        let avals = Array.zeroCreate inputs.Length

        for i in 0 .. inputs.Length - 1 do
            avals.[i] <- inputs.[i].Aval

        let outs = prim.ShapeRule avals pars
        prim.LastShape <- ShapeMemo(avals, pars, outs)
        outs

type internal StagingTrace(parent: Trace, transform: string) =
    inherit Trace(parent, transform)
    let equations = ResizeArray<Equation>()
    let constVars = ResizeArray<Var>()
    let consts = ResizeArray<Tensor>()
    let constIndex = Dictionary<Tensor, Var>(HashIdentity.Reference)
    let mutable nextId = 0
    // System.Threading.Lock, not a Monitor on `equations`: its uncontended enter is a few
    // instructions, where a Monitor took its slow path on every staged equation (measured:
    // over half of `grad`'s time in the scalar loop)
    let gate = System.Threading.Lock()

    member inline private _.Locked([<InlineIfLambda>] body: unit -> 'T) : 'T =
        gate.Enter()

        try
            body ()
        finally
            gate.Exit()

    member private _.NewVar(aval: Aval) =
        let v = Var(nextId, aval)
        nextId <- nextId + 1
        v

    /// A new input variable and its tracer.
    member this.NewInput(aval: Aval) =
        this.Locked(fun () -> StagingTracer(this, this.NewVar aval))

    /// The atom for an operand: own tracer → its var; concrete scalar → literal; any other
    /// known value (an array, a tracer of an enclosing trace) → a const var, one per tensor.
    member private this.AtomOf(x: Tensor) =
        match x with
        | :? StagingTracer as t when Object.ReferenceEquals(t.Trace, this) -> t.Atom
        | :? Tracer -> this.ConstAtom x
        | _ when x.Rank = 0 -> Atom.Literal x
        | _ -> this.ConstAtom x

    member private this.ConstAtom(x: Tensor) =
        match constIndex.TryGetValue x with
        | true, v -> Atom.Var v
        | _ ->
            let v = this.NewVar x.Aval
            constIndex.[x] <- v
            constVars.Add v
            consts.Add x
            Atom.Var v

    override this.Process(prim, inputs, pars) =
        let outAvals = outputAvals prim inputs pars

        this.Locked(fun () ->
            let atoms = Array.zeroCreate inputs.Length

            for i in 0 .. inputs.Length - 1 do
                atoms.[i] <- this.AtomOf inputs.[i]

            let outs = Array.zeroCreate outAvals.Length
            let tracers = Array.zeroCreate outAvals.Length

            for i in 0 .. outAvals.Length - 1 do
                outs.[i] <- this.NewVar outAvals.[i]
                tracers.[i] <- StagingTracer(this, outs.[i]) :> Tensor

            equations.Add(Equation(prim, pars, atoms, outs))
            tracers)

    /// The finished program, with dead equations (and unused consts) removed. Variable ids
    /// stay as staged: they are dense enough for an array environment.
    member this.Finish(inVars: Var[], results: Tensor[]) : Program =
        this.Locked(fun () ->
            let outAtoms = results |> Array.map this.AtomOf
            let live = Array.zeroCreate nextId

            let markAtom a =
                match a with
                | Atom.Var v -> live.[v.Id] <- true
                | Atom.Literal _ -> ()

            outAtoms |> Array.iter markAtom
            let keep = Array.zeroCreate equations.Count

            for i in equations.Count - 1 .. -1 .. 0 do
                let e = equations.[i]

                if e.OutputArray |> Array.exists (fun v -> live.[v.Id]) then
                    keep.[i] <- true
                    e.InputArray |> Array.iter markAtom

            let liveConsts =
                [|
                    for i in 0 .. constVars.Count - 1 do
                        if live.[constVars.[i].Id] then
                            i
                |]

            // exact-size: an array comprehension grows by copying, once per staged program
            let kept = Array.zeroCreate (keep |> Array.sumBy (fun k -> if k then 1 else 0))

            let mutable next = 0

            for i in 0 .. equations.Count - 1 do
                if keep.[i] then
                    kept.[next] <- equations.[i]
                    next <- next + 1

            Program(
                liveConsts |> Array.map (fun i -> constVars.[i]),
                liveConsts |> Array.map (fun i -> consts.[i]),
                inVars,
                kept,
                outAtoms,
                nextId
            ))

/// Stages `f` applied to an input of `x`'s aval into a program (known values folded).
let internal stage (transform: string) (f: Tensor -> Tensor) (aval: Aval) : Program =
    let trace = StagingTrace(Interpreter.Current, transform)
    trace.StagesEverything <- true
    let input = trace.NewInput aval
    TraceScope.run trace transform (fun () -> trace.Finish([| input.Var |], [| f input |]))
