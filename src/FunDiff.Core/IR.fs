// Room: the immutable program (jaxpr-like IR): variables, equations, printing, Mermaid, evaluation.
namespace FunDiff

open System.Collections.Immutable
open System.Runtime.InteropServices
open System.Text
open FunDiff.Backend

/// A variable of a program: a dense id (its index in the evaluator's environment) and an aval.
[<Sealed; AllowNullLiteral>]
type Var(id: int, aval: Aval) =
    /// Dense within its program: consts first, then inputs, then equation outputs.
    member _.Id = id
    /// Shape and dtype.
    member _.Aval = aval

/// An operand of an equation: a variable, or a literal scalar written inline.
[<RequireQualifiedAccess>]
type Atom =
    | Var of Var
    | Literal of Tensor

    /// The operand's aval.
    member a.Aval =
        match a with
        | Var v -> v.Aval
        | Literal t -> t.Aval

/// `outputs = primitive[params](inputs)`. Immutable: built only by staging, its operands and
/// outputs are read-only views.
[<Sealed>]
type Equation internal (primitive: Primitive, pars: Params, inputs: Atom[], outputs: Var[]) =
    /// The primitive applied.
    member _.Primitive = primitive
    /// Its params (immutable, structural equality).
    member _.Params = pars

    /// The operands (read-only).
    // views made on access over the arrays staging built and never writes again (no copy; not
    // stored: a staged program keeps every equation alive, so each field is paid per equation)
    member _.Inputs: ImmutableArray<Atom> =
        ImmutableCollectionsMarshal.AsImmutableArray inputs

    /// The variables it defines (read-only).
    member _.Outputs: ImmutableArray<Var> =
        ImmutableCollectionsMarshal.AsImmutableArray outputs

    /// The operands as the array the evaluators read (never written).
    member internal _.InputArray = inputs
    /// The outputs as the array the evaluators read (never written).
    member internal _.OutputArray = outputs

/// An immutable program, the IR that staging builds: const vars bound to captured tensors,
/// typed input vars, equations in execution (hence topological) order, output atoms.
/// Variable ids are below `numVars` (the evaluator's environment is an array); the printer
/// names variables in order of appearance. Evaluating a program binds every equation again,
/// so a program evaluated inside a transform is transformed. Nothing here recurses with
/// program length. Every collection it exposes is a read-only view (ImmutableArray): a program
/// cannot be changed after staging, so `Program.eval` always computes what it printed.
[<Sealed>]
type Program
    internal (constVars: Var[], consts: Tensor[], inVars: Var[], equations: Equation[], outputs: Atom[], numVars: int) =
    // views over the arrays staging built and never writes again (no copy)
    let constVarView = ImmutableCollectionsMarshal.AsImmutableArray constVars
    let constView = ImmutableCollectionsMarshal.AsImmutableArray consts
    let inVarView = ImmutableCollectionsMarshal.AsImmutableArray inVars
    let equationView = ImmutableCollectionsMarshal.AsImmutableArray equations
    let outputView = ImmutableCollectionsMarshal.AsImmutableArray outputs

    /// Variables bound to captured tensors (constants, residuals, tracers of enclosing traces).
    member _.ConstVars: ImmutableArray<Var> = constVarView
    /// The captured tensors, one per const var (read-only).
    member _.Consts: ImmutableArray<Tensor> = constView
    /// The input variables (read-only).
    member _.InVars: ImmutableArray<Var> = inVarView
    /// The equations in execution order (read-only).
    member _.Equations: ImmutableArray<Equation> = equationView
    /// The results (read-only).
    member _.Outputs: ImmutableArray<Atom> = outputView
    /// An upper bound of the variable ids (ids are in 0 .. NumVars-1).
    member _.NumVars = numVars

    /// The const vars as the array the evaluators read (never written).
    member internal _.ConstVarArray = constVars
    /// The captured tensors as the array the evaluators read (never written).
    member internal _.ConstArray = consts
    /// The input vars as the array the evaluators read (never written).
    member internal _.InVarArray = inVars
    /// The equations as the array the evaluators read (never written).
    member internal _.EquationArray = equations
    /// The outputs as the array the evaluators read (never written).
    member internal _.OutputArray = outputs

    /// The jaxpr-style text of the program.
    override p.ToString() = ProgramText.print p

    /// A Mermaid flowchart of the program (for notebooks: a `#!mermaid` cell or HTML).
    member p.ToMermaid() = ProgramText.mermaid p

/// Printing programs as text and as Mermaid diagrams.
and internal ProgramText private () =

    /// jaxpr names: a..z, then ba, bb, ...
    static member Name(id: int) =
        let sb = StringBuilder()
        let mutable n = id

        sb.Insert(0, char (int 'a' + n % 26)) |> ignore
        n <- n / 26

        while n > 0 do
            sb.Insert(0, char (int 'a' + n % 26)) |> ignore
            n <- n / 26

        sb.ToString()

    /// Display names by order of appearance: consts, inputs, then equation outputs.
    static member Names(p: Program) : int -> string =
        let order = Array.create p.NumVars -1
        let mutable next = 0

        let assign (v: Var) =
            if order.[v.Id] < 0 then
                order.[v.Id] <- next
                next <- next + 1

        Array.iter assign p.ConstVarArray
        Array.iter assign p.InVarArray

        for e in p.EquationArray do
            Array.iter assign e.OutputArray

        fun id -> ProgramText.Name(if order.[id] >= 0 then order.[id] else id)

    static member print(p: Program) =
        let sb = StringBuilder()
        let name = ProgramText.Names p

        let atom (a: Atom) =
            match a with
            | Atom.Var v -> name v.Id
            | Atom.Literal t -> string t

        let binders (vs: Var[]) =
            vs |> Array.map (fun v -> name v.Id + ":" + string v.Aval) |> String.concat " "

        let cs = binders p.ConstVarArray

        sb.Append("{ lambda ").Append(cs).Append(if cs = "" then "; " else " ; ")
        |> ignore

        sb.Append(binders p.InVarArray).Append(" . let\n") |> ignore

        for e in p.EquationArray do
            let outs = binders e.OutputArray
            let args = e.InputArray |> Array.map atom |> String.concat " "
            sb.Append("    ").Append(outs).Append(" = ").Append(e.Primitive.Name) |> ignore
            sb.Append(string e.Params).Append(" ").Append(args).Append('\n') |> ignore

        let outs = p.OutputArray |> Array.map atom |> String.concat " "
        sb.Append("  in (").Append(outs).Append(") }") |> ignore
        sb.ToString()

    /// The equations around equation `index`, the culprit marked, for error messages.
    static member excerpt(p: Program, index: int) =
        let name = ProgramText.Names p

        let atom (a: Atom) =
            match a with
            | Atom.Var v -> name v.Id
            | Atom.Literal t -> string t

        let line (i: int) =
            let e = p.EquationArray.[i]

            let outs =
                e.OutputArray
                |> Array.map (fun v -> name v.Id + ":" + string v.Aval)
                |> String.concat " "

            let args = e.InputArray |> Array.map atom |> String.concat " "
            sprintf "%s %s = %s%s %s" (if i = index then "=>" else "  ") outs e.Primitive.Name (string e.Params) args

        [
            for i in max 0 (index - 3) .. min (p.EquationArray.Length - 1) (index + 3) -> line i
        ]
        |> String.concat "\n"

    /// A NaN error raised while running equation `index` of a program, with the program text
    /// around it (once: an error that already shows a program is passed on unchanged).
    static member withContext(p: Program, index: int, what: string, e: NanException) =
        if e.Message.Contains "equations around" then
            e
        else
            NanException(
                sprintf
                    "%s\nIt happened while %s equation %d; the equations around it:\n%s"
                    e.Message
                    what
                    index
                    (ProgramText.excerpt (p, index))
            )

    static member mermaid(p: Program) =
        let sb = StringBuilder("flowchart TD\n")

        let line (s: string) =
            sb.Append("    ").Append(s).Append('\n') |> ignore

        let name = ProgramText.Names p
        let label (v: Var) = name v.Id + ": " + string v.Aval

        for v in p.InVarArray do
            line (sprintf "%s[/\"input %s\"/]" (name v.Id) (label v))

        for v in p.ConstVarArray do
            line (sprintf "%s[(\"const %s\")]" (name v.Id) (label v))

        p.EquationArray
        |> Array.iteri (fun i e ->
            let op = sprintf "op%d" i
            line (sprintf "%s([\"%s%s\"])" op e.Primitive.Name (string e.Params))

            e.InputArray
            |> Array.iteri (fun j a ->
                match a with
                | Atom.Var v -> line (sprintf "%s --> %s" (name v.Id) op)
                | Atom.Literal t ->
                    let lit = sprintf "lit%d_%d" i j
                    line (sprintf "%s[\"%s\"] --> %s" lit (string t) op))

            for v in e.OutputArray do
                line (sprintf "%s[\"%s\"]" (name v.Id) (label v))
                line (sprintf "%s --> %s" op (name v.Id)))

        p.OutputArray
        |> Array.iteri (fun i a ->
            line (sprintf "out%d{{\"output %d\"}}" i i)

            match a with
            | Atom.Var v -> line (sprintf "%s --> out%d" (name v.Id) i)
            | Atom.Literal t -> line (sprintf "litout%d[\"%s\"] --> out%d" i (string t) i))

        sb.ToString()

/// One operand or binder of a body's fingerprint (`ClosedProgram.Fingerprint`).
and [<RequireQualifiedAccess>] internal BodyKey =
    /// A variable by its order of first appearance, with its aval.
    | Variable of order: int * aval: Aval
    /// A rank-0 literal by its bits and dtype.
    | Literal of bits: int64 * dtype: DType
    /// Something compared by identity only.
    | Opaque of identity: obj

/// A program held by a higher-order primitive's params (jit's body): closed, its captured
/// constants hoisted to its first inputs (so it computes from its inputs alone). Prints as
/// its body, indented under the equation that holds it.
[<Sealed>]
type ClosedProgram internal (program: Program, name: string) =
    inherit ClosedBody()

    // computed on first comparison: variables renumbered by first appearance, literals by their
    // bits, primitives by identity, params (nested bodies included) by their own equality
    let fingerprint =
        lazy
            (let canonical = System.Collections.Generic.Dictionary<int, int>()

             let var (v: Var) =
                 match canonical.TryGetValue v.Id with
                 | true, k -> k
                 | _ ->
                     canonical.[v.Id] <- canonical.Count
                     canonical.Count - 1

             let atom (a: Atom) =
                 match a with
                 | Atom.Var v -> BodyKey.Variable(var v, v.Aval)
                 | Atom.Literal t ->
                     match t with
                     | :? ConcreteTensor as c when c.Aval.Rank = 0 ->
                         BodyKey.Literal(System.BitConverter.DoubleToInt64Bits(c.Array.At 0), t.DType)
                     | _ -> BodyKey.Opaque(obj ())

             let inputs =
                 program.InVarArray |> Array.map (fun v -> BodyKey.Variable(var v, v.Aval))

             let equations =
                 program.EquationArray
                 |> Array.map (fun e ->
                     let ins = e.InputArray |> Array.map atom
                     let outs = e.OutputArray |> Array.map (fun v -> BodyKey.Variable(var v, v.Aval))
                     (e.Primitive.Id, e.Params, ins, outs))

             box (inputs, equations, program.OutputArray |> Array.map atom))

    /// The body: no consts, every captured value an input.
    member _.Program = program
    /// What was traced (`jit`'s function, or the rule that derived it).
    member _.Name = name


    /// jit's compiled form of the body, made on first evaluation (typed obj: it compiles later).
    member val internal Compiled: obj = null with get, set

    /// The programs jit's rules derive from the body (its linearization split, its transpose,
    /// its batched form), traced once per key and kept with it.
    member val internal Derived = System.Collections.Concurrent.ConcurrentDictionary<string, obj>()

    override _.Fingerprint = fingerprint.Value

    override _.ToString() =
        (string program).Replace("\n", "\n        ")

/// Evaluation of programs by binding their equations again.
module Program =

    /// Evaluates a program on its inputs under the current trace: inside a transform, the
    /// evaluation is itself transformed. Raises a ShapeException if an input's aval differs.
    let eval (p: Program) (args: Tensor[]) : Tensor[] =
        Guard.notNull "Program.eval" "p" p
        Guard.notNullElements "Program.eval" "args" args

        if args.Length <> p.InVarArray.Length then
            raise (ShapeException(sprintf "Program.eval: %d arguments for %d inputs." args.Length p.InVarArray.Length))

        let env: Tensor[] = Array.zeroCreate p.NumVars

        for i in 0 .. p.ConstVarArray.Length - 1 do
            env.[p.ConstVarArray.[i].Id] <- p.ConstArray.[i]

        for i in 0 .. p.InVarArray.Length - 1 do
            let v = p.InVarArray.[i]

            if not (args.[i].Aval.Equals v.Aval) then
                raise (
                    ShapeException(
                        sprintf "Program.eval: input %d has aval %O but the program expects %O." i args.[i].Aval v.Aval
                    )
                )

            env.[v.Id] <- args.[i]

        let read (a: Atom) =
            match a with
            | Atom.Var v -> env.[v.Id]
            | Atom.Literal t -> t

        let debugging = Interpreter.DebuggingNans

        for i in 0 .. p.EquationArray.Length - 1 do
            let e = p.EquationArray.[i]

            let outs =
                if debugging then
                    try
                        Interpreter.Bind(e.Primitive, Array.map read e.InputArray, e.Params)
                    with :? NanException as nan ->
                        raise (ProgramText.withContext (p, i, "evaluating", nan))
                else
                    Interpreter.Bind(e.Primitive, Array.map read e.InputArray, e.Params)

            for j in 0 .. outs.Length - 1 do
                env.[e.OutputArray.[j].Id] <- outs.[j]

        Array.map read p.OutputArray

    /// The closed form of a program: its const vars become its first inputs, and the captured
    /// tensors are returned to be passed as those inputs.
    let internal close (p: Program) : Program * Tensor[] =
        Program([||], [||], Array.append p.ConstVarArray p.InVarArray, p.EquationArray, p.OutputArray, p.NumVars),
        Array.copy p.ConstArray
