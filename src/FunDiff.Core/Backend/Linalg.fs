/// Linear-algebra kernels: batched matrix multiplication and dot_general. (Being written.)
module FunDiff.Backend.Linalg
