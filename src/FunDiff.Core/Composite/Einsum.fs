/// NumPy's einsum and tensordot, lowered to dot_general, transposes, reductions and (for an
/// index repeated within one operand: a diagonal or a trace) a product with an identity mask.
/// Everything is built from differentiable primitives, so every transform goes through.
module internal FunDiff.Composite.Einsum

open System
open FunDiff

/// A label per axis: a letter, or (for the axes an ellipsis stands for) a code below 'A'
/// numbering the broadcast axes from the last one.
type private Labels = int[]

let private fail (subscripts: string) (fmt: Printf.StringFormat<'a, 'b>) =
    Printf.kprintf (fun message -> raise (ShapeException(sprintf "einsum \"%s\": %s" subscripts message))) fmt

/// The labels of one operand's subscripts for an operand of rank `rank` (an ellipsis takes the
/// axes the letters leave; they are labelled by their distance from the last broadcast axis).
let private parseOperand (subscripts: string) (term: string) (rank: int) (ellipsisRank: int) : Labels =
    let dots = term.IndexOf "..."

    if dots >= 0 && term.IndexOf("...", dots + 1) >= 0 then
        fail subscripts "'%s' has more than one ellipsis." term

    let letters = term.Replace("...", "")

    for c in letters do
        if not (Char.IsLetter c) then
            fail subscripts "'%c' is not a subscript: use letters a-z and A-Z, and at most one '...' per operand." c

    let spread = if dots >= 0 then ellipsisRank else 0

    if dots < 0 && letters.Length <> rank then
        fail
            subscripts
            "'%s' names %d axes but its operand has rank %d. Give one letter per axis (or '...' for the rest)."
            term
            letters.Length
            rank

    if dots >= 0 && letters.Length > rank then
        fail subscripts "'%s' names %d axes but its operand has rank %d." term letters.Length rank

    let before = if dots >= 0 then term.Substring(0, dots) else letters

    [|
        for c in before -> int c
        for k in 0 .. spread - 1 -> -(spread - k)
        if dots >= 0 then
            for c in term.Substring(dots + 3) -> int c
    |]

/// Multiplies by an identity mask so that only elements with equal indices on axes p and q
/// survive, then sums axis q: the diagonal along p (the same size on both axes).
let private diagonal (x: Tensor) (p: int) (q: int) =
    let n = x.Aval.Shape.[p]
    let mask = Prim.broadcastInDim x.Aval.Shape [| p; q |] (Tensor.Eye n)
    Prim.reduce Primitives.Structural.reduceSumP [| q |] (x * mask)

/// One operand with its labels, each label once (repeated ones reduced to their diagonal).
let private distinct (subscripts: string) (x: Tensor) (labels: Labels) : Tensor * Labels =
    let mutable x = x
    let mutable labels = labels
    let mutable repeated = true

    while repeated do
        repeated <- false
        let mutable p = 0

        while not repeated && p < labels.Length do
            let q = Array.IndexOf(labels, labels.[p], p + 1)

            if q > 0 then
                if x.Aval.Shape.[p] <> x.Aval.Shape.[q] then
                    fail
                        subscripts
                        "the repeated subscript '%s' labels axes of sizes %d and %d (shape %s); a repeated subscript takes a diagonal, so the sizes must be equal."
                        (if labels.[p] > 0 then string (char labels.[p]) else "...")
                        x.Aval.Shape.[p]
                        x.Aval.Shape.[q]
                        (Shape.show x.Aval.Shape)

                x <- diagonal x p q
                labels <- Array.removeAt q labels
                repeated <- true
            else
                p <- p + 1

    x, labels

/// Sums the axes whose labels nothing else needs.
let private sumOut (keep: int -> bool) (x: Tensor) (labels: Labels) : Tensor * Labels =
    let drop =
        [|
            for k in 0 .. labels.Length - 1 do
                if not (keep labels.[k]) then
                    k
        |]

    if drop.Length = 0 then
        x, labels
    else
        Prim.reduce Primitives.Structural.reduceSumP drop x, labels |> Array.filter keep

/// Contracts two operands: labels in both that something later needs are batch axes, the other
/// shared ones are contracted; the result's labels are batch ++ left's own ++ right's own.
let private contract (needed: int -> bool) (a: Tensor, la: Labels) (b: Tensor, lb: Labels) : Tensor * Labels =
    let shared = la |> Array.filter (fun l -> Array.contains l lb)
    let batch = shared |> Array.filter needed
    let contracted = shared |> Array.filter (needed >> not)

    let axesOf (labels: Labels) (which: Labels) =
        which |> Array.map (fun l -> Array.IndexOf(labels, l))

    let own (labels: Labels) =
        labels |> Array.filter (fun l -> not (Array.contains l shared))

    let product =
        Prim.dotGeneral (axesOf la contracted) (axesOf lb contracted) (axesOf la batch) (axesOf lb batch) a b

    product, Array.concat [ batch; own la; own lb ]

/// The sizes of every label, checked to agree across operands (an ellipsis' axes broadcast by
/// size 1, as NumPy's do).
let private sizesOf (subscripts: string) (operands: (Tensor * Labels)[]) =
    let sizes = Collections.Generic.Dictionary<int, int>()

    for (x, labels) in operands do
        labels
        |> Array.iteri (fun k l ->
            let n = x.Aval.Shape.[k]

            match sizes.TryGetValue l with
            | true, m when m <> n && not (l < 0 && (m = 1 || n = 1)) ->
                fail
                    subscripts
                    "subscript '%s' labels axes of sizes %d and %d (operand shapes %s); every axis one subscript labels must have one size (a repeated subscript within an operand takes a diagonal)."
                    (if l > 0 then string (char l) else "...")
                    m
                    n
                    (operands
                     |> Array.map (fun (x, _) -> Shape.show x.Aval.Shape)
                     |> String.concat ", ")
            | true, m when m <> 1 -> ()
            | _ -> sizes.[l] <- n)

    sizes

/// einsum: `subscripts` as NumPy accepts them ("ij,jk->ik", implicit output "ij,jk", "ii" for a
/// trace, "...ij,...jk->...ik" with broadcast axes).
let einsum (subscripts: string) (xs: Tensor[]) : Tensor =
    let text = subscripts.Replace(" ", "")
    let arrow = text.IndexOf "->"
    let inputs = (if arrow >= 0 then text.Substring(0, arrow) else text).Split ','

    if inputs.Length <> xs.Length then
        fail
            subscripts
            "%d operand subscripts for %d tensors; give one comma-separated term per operand."
            inputs.Length
            xs.Length

    let ellipsisRank =
        Array.map2
            (fun (term: string) (x: Tensor) ->
                if term.Contains "..." then
                    x.Rank - term.Replace("...", "").Length
                else
                    0)
            inputs
            xs
        |> Array.fold max 0

    let operands =
        Array.map2
            (fun (term: string) (x: Tensor) ->
                let own =
                    if term.Contains "..." then
                        x.Rank - term.Replace("...", "").Length
                    else
                        0
                // an operand's ellipsis covers its own broadcast axes, aligned to the last one
                x, parseOperand subscripts term x.Rank own)
            inputs
            xs

    let sizes = sizesOf subscripts operands

    let counts = operands |> Array.collect snd |> Array.countBy id |> dict

    // the output: explicit, or (NumPy) the broadcast axes then the letters used once, sorted
    let output: Labels =
        if arrow >= 0 then
            let term = text.Substring(arrow + 2)

            if term.Contains "," then
                fail subscripts "the output '%s' is one term (no commas)." term

            parseOperand
                subscripts
                term
                (term.Replace("...", "").Length
                 + (if term.Contains "..." then ellipsisRank else 0))
                ellipsisRank
        else
            Array.append
                [| for k in ellipsisRank .. -1 .. 1 -> -k |]
                (counts.Keys
                 |> Seq.filter (fun l -> l > 0 && counts.[l] = 1)
                 |> Seq.sort
                 |> Array.ofSeq)

    for l in output do
        if not (sizes.ContainsKey l) then
            fail subscripts "the output subscript '%c' appears in no operand." (char l)

    if (Array.distinct output).Length <> output.Length then
        fail subscripts "an output subscript appears twice; each output axis needs its own letter."

    // broadcast axes of size 1 stretch to the others' size
    let operands =
        operands
        |> Array.map (fun (x, labels) ->
            let shape = labels |> Array.map (fun l -> sizes.[l])

            if shape = x.Aval.Shape then
                x, labels
            else
                Prim.broadcastTo shape x, labels)

    // each operand: diagonals of repeated labels, then sums of the labels only it has
    let mutable pending =
        operands
        |> Array.mapi (fun i (x, labels) ->
            let x, labels = distinct subscripts x labels

            let keep l =
                Array.contains l output
                || operands
                   |> Array.indexed
                   |> Array.exists (fun (j, (_, other)) -> j <> i && Array.contains l other)

            sumOut keep x labels)
        |> List.ofArray

    // pairwise contractions, cheapest result first (the product of its labels' sizes)
    while pending.Length > 1 do
        let indexed = List.indexed pending

        let neededBy (skip: int list) (l: int) =
            Array.contains l output
            || indexed
               |> List.exists (fun (k, (_, labels)) -> not (List.contains k skip) && Array.contains l labels)

        let cost (i, (_, la: Labels)) (j, (_, lb: Labels)) =
            Array.append la lb
            |> Array.distinct
            |> Array.filter (neededBy [ i; j ])
            |> Array.fold (fun acc l -> acc * float sizes.[l]) 1.0

        let pairs =
            [
                for (i, a) in indexed do
                    for (j, b) in indexed do
                        if i < j then
                            (i, a), (j, b)
            ]

        let ((i, a), (j, b)) = pairs |> List.minBy (fun (a, b) -> cost a b)
        let joined = contract (neededBy [ i; j ]) a b

        pending <-
            joined
            :: (indexed |> List.filter (fun (k, _) -> k <> i && k <> j) |> List.map snd)

    let result, labels = pending.Head
    let result, labels = sumOut (fun l -> Array.contains l output) result labels
    let perm = output |> Array.map (fun l -> Array.IndexOf(labels, l))

    if perm = Array.init perm.Length id then
        result
    else
        Prim.transpose perm result

/// tensordot: contracts axes `axesA` of `a` with `axesB` of `b` (pairwise); the result's axes
/// are a's others then b's others, as NumPy's.
let tensordot (axesA: int[]) (axesB: int[]) (a: Tensor) (b: Tensor) : Tensor =
    if axesA.Length <> axesB.Length then
        raise (
            ShapeException(
                sprintf
                    "tensordot: %d axes of the first operand paired with %d of the second; give the same number of each."
                    axesA.Length
                    axesB.Length
            )
        )

    // normalized one by one: the pairing is by position, so the order must stay
    let axesA = axesA |> Array.map (Shape.normalizeAxis "tensordot" a.Rank)
    let axesB = axesB |> Array.map (Shape.normalizeAxis "tensordot" b.Rank)
    Shape.normalizeAxes "tensordot" a.Rank axesA |> ignore
    Shape.normalizeAxes "tensordot" b.Rank axesB |> ignore
    Prim.dotGeneral axesA axesB [||] [||] a b

/// tensordot over the last `n` axes of `a` and the first `n` of `b`.
let tensordotN (n: int) (a: Tensor) (b: Tensor) : Tensor =
    if n < 0 || n > a.Rank || n > b.Rank then
        raise (
            ShapeException(
                sprintf
                    "tensordot: %d axes to contract, but the operands have ranks %d and %d; give 0 to min of the ranks."
                    n
                    a.Rank
                    b.Rank
            )
        )

    tensordot (Array.init n (fun k -> a.Rank - n + k)) (Array.init n id) a b
