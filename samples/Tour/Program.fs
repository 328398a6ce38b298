/// The FunDiff tour: every transform on small functions, with the values they must print.
/// Run with `dotnet run --project samples/Tour`.
open FunDiff

let section (title: string) = printfn "\n== %s ==" title

// f(x, y) = x²y + y + 2, written over a 2-vector v = (x, y)
let f (v: Tensor) =
    let x, y = v.[0], v.[1]
    x * x * y + y + 2.0

section "f(x, y) = x²y + y + 2 at (3, 4)"
let p = Tensor.ofArray [| 3.0; 4.0 |]
printfn "f(3, 4)      = %O" (f p)
printfn "grad f(3, 4) = %O   (expected [24. 10.])" (grad f p)

section "the logistic function σ(x) = 1 / (1 + e^-x)"
let logistic (x: Tensor) = 1.0 / (1.0 + exp -x)
printfn "σ'(1.5) = %.16f   (expected 0.1491464520703328…)" (float (grad logistic (Tensor.scalar 1.5)))

section "y = x³ + x²: first and second derivatives"
let cubic (x: Tensor) = x ** 3.0 + x ** 2.0

for x in [ -1.0; 0.5; 2.0 ] do
    let t = Tensor.scalar x

    printfn
        "x = %4.1f   y' = %8.4f (3x²+2x)   y'' = %8.4f (6x+2)"
        x
        (float (grad cubic t))
        (float (grad (grad cubic) t))

section "y = sin(x) / x: first and second derivatives"
let sinc (x: Tensor) = sin x / x

for x in [ 0.5; 1.0; 3.0 ] do
    let t = Tensor.scalar x

    printfn
        "x = %4.1f   y = %.6f   y' = %.6f   y'' = %.6f"
        x
        (float (sinc t))
        (float (grad sinc t))
        (float (grad (grad sinc) t))

section "y = 2·Σx² at [0, 1, 2, 3]"
let sumOfSquares (x: Tensor) = 2.0 * Tensor.sum (x * x)
let xs = Tensor.arange 4
printfn "y = %O   grad = %O   (4x)" (sumOfSquares xs) (grad sumOfSquares xs)

section "Rosenbrock: Hessian and a Hessian-vector product"

let rosenbrock (x: Tensor) =
    let n = (Tensor.shape x).[0]
    let head, tail = Tensor.slice 0 (n - 1) x, Tensor.slice 1 n x
    Tensor.sum (100.0 * (tail - head ** 2.0) ** 2.0 + (1.0 - head) ** 2.0)

let x0 = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
let v = Tensor.ofArray [| 1.0; 0.0; -1.0 |]
printfn "rosenbrock%O = %O" x0 (rosenbrock x0)
printfn "grad       = %O" (grad rosenbrock x0)
printfn "hessian    =\n%O" (hessian rosenbrock x0)
printfn "hvp v      = %O   (forward-over-reverse, no Hessian formed)" (hvp rosenbrock x0 v)

section "Jacobians: forward and reverse mode agree"

let polar (rθ: Tensor) =
    Tensor.stack [ rθ.[0] * cos rθ.[1]; rθ.[0] * sin rθ.[1] ]

let q = Tensor.ofArray [| 2.0; 0.5 |]
printfn "jacfwd =\n%O" (jacfwd polar q)
printfn "jacrev =\n%O" (jacrev polar q)

section "The program of a gradient: makeIR (grad (fun x -> Σ sin(x)·x))"
let g (x: Tensor) = Tensor.sum (sin x * x)
printfn "%O" (makeIR g x0)
printfn "its gradient:\n%O" (makeIR (grad g) x0)

section "The program of a Hessian-vector product of Rosenbrock"
printfn "%O" (makeIR (fun x -> hvp rosenbrock x v) x0)

section "Logistic regression: the gradient of the loss with respect to the weights"
// four points in the plane with labels; the model is σ(X·w)
let features =
    Tensor.ofArray2D (array2D [ [ 1.0; 2.0 ]; [ -1.0; 0.5 ]; [ 2.0; -1.0 ]; [ -2.0; -1.5 ] ])

let labels = Tensor.ofArray [| 1.0; 0.0; 1.0; 0.0 |]

let loss (w: Tensor) =
    let p = Tensor.sigmoid (Tensor.matmul features w)
    -Tensor.mean(labels * Tensor.log p + (1.0 - labels) * Tensor.log (1.0 - p))

let w0 = Tensor.ofArray [| 0.1; -0.2 |]
printfn "loss(w0)      = %O" (loss w0)
printfn "grad loss(w0) = %O   (= Xᵀ(σ(Xw) − y) / n)" (grad loss w0)
let mutable w = w0

for _ in 1..100 do
    w <- w - 0.5 * grad loss w

printfn "after 100 steps of gradient descent: w = %O, loss = %O" w (loss w)

section "The Jacobian of softmax: diag(s) − s sᵀ"
let logits = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
let s = Tensor.softmax logits
printfn "softmax = %O" s
printfn "jacobian =\n%O" (jacobian Tensor.softmax logits)
printfn "diag(s) − s sᵀ =\n%O" (Tensor.diag s - Tensor.outer s s)
printfn "stable at ±1000: softmax [1000, 0, -1000] = %O" (Tensor.softmax (Tensor.ofArray [| 1000.0; 0.0; -1000.0 |]))

section "Per-example gradients with vmap: one batched evaluation, no loop"
// the logistic loss of one labelled point; vmap maps it over the four points at once
let pointLoss (w: Tensor) (x: Tensor, y: Tensor) =
    let p = Tensor.sigmoid (Tensor.dot x w)
    -(y * Tensor.log p + (1.0 - y) * Tensor.log (1.0 - p))

let perPoint = Tree.vmap (fun example -> grad (fun w -> pointLoss w example) w0) (features, labels)
printfn "per-example gradients (one row per point) =\n%O" perPoint
printfn "their mean = %O   (= grad loss(w0) above)" (Tensor.meanAxes [ 0 ] perPoint)
printfn "the batched program (features are the input):\n%O" (makeIR (fun xs -> vmap (fun x -> Tensor.sigmoid (Tensor.dot x w0)) xs) features)

section "jit: traced once per input shape, then the program is reused"
let descend = jitted (fun w -> w - 0.5 * grad loss w)
let mutable wj = w0

for _ in 1..100 do
    wj <- descend.Invoke wj

printfn "100 jitted steps: w = %O (traced %d time(s): %s)" wj descend.TraceCount descend.LastRetrace
printfn "what jit runs for one step:\n%O" (lowered (fun w -> w - 0.5 * grad loss w) w0)
