/// Tensors print exactly like NumPy's `str` with the default print options (threshold 1000,
/// edgeitems 3, linewidth 75, precision 8). Every expected string is NumPy's output for the
/// same array, written out literally.
module FunDiff.Tests.FormatTests

open Xunit
open FunDiff

let private lines (xs: string list) = String.concat "\n" xs

[<Fact>]
let ``small arrays print in full`` () =
    Assert.Equal("[1. 2. 3.]", string (Tensor.ofArray [| 1.0; 2.0; 3.0 |]))
    Assert.Equal("[1.5  2.25]", string (Tensor.ofArray [| 1.5; 2.25 |]))
    Assert.Equal("[[0. 1. 2.]\n [3. 4. 5.]]", string (Tensor.reshape [| 2; 3 |] (Tensor.arange 6)))

    Assert.Equal(
        lines
            [
                "[[[ 0.  1.  2.  3.]"
                "  [ 4.  5.  6.  7.]"
                "  [ 8.  9. 10. 11.]]"
                ""
                " [[12. 13. 14. 15.]"
                "  [16. 17. 18. 19.]"
                "  [20. 21. 22. 23.]]]"
            ],
        string (Tensor.reshape [| 2; 3; 4 |] (Tensor.arange 24))
    )

    Assert.Equal("[7. 7. 7. 7. 7. 7. 7.]", string (Tensor.full [| 7 |] 7.0))
    Assert.Equal("[]", string (Tensor.zeros [| 2; 0 |]))

[<Fact>]
let ``scalars print like Python's repr`` () =
    Assert.Equal("2.5", string (Tensor.scalar 2.5))
    Assert.Equal("3.0", string (Tensor.scalar 3.0))
    Assert.Equal("-0.0", string (Tensor.scalar -0.0))
    Assert.Equal("0.0001", string (Tensor.scalar 1e-4))
    Assert.Equal("1e-05", string (Tensor.scalar 1e-5))
    Assert.Equal("1.5e-07", string (Tensor.scalar 1.5e-7))
    Assert.Equal("1000000000000000.5", string (Tensor.scalar (1e15 + 0.5)))
    Assert.Equal("1e+16", string (Tensor.scalar 1e16))
    Assert.Equal("0.30000000000000004", string (Tensor.scalar (0.1 + 0.2)))
    Assert.Equal("7", string (Tensor.convert Int64 (Tensor.scalar 7.0)))

[<Fact>]
let ``1-d arrays over 1000 elements show 3 entries at each end, formatted from those alone`` () =
    // the shown values 0..2 and 998..1000 stay within a ratio of 1e3: positional
    Assert.Equal("[   0.    1.    2. ...  998.  999. 1000.]", string (Tensor.arange 1001))
    // 1999 / 1 > 1e3: scientific, with the common precision of the shown values
    Assert.Equal("[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]", string (Tensor.arange 2000))
    Assert.Equal("[7. 7. 7. ... 7. 7. 7.]", string (Tensor.full [| 1500 |] 7.0))
    Assert.Equal("[ 500.  499.  498. ... -498. -499. -500.]", string (500.0 - Tensor.arange 1001))

[<Fact>]
let ``a summarised row still wraps at 75 characters`` () =
    Assert.Equal(
        "[  0.           0.33333333   0.66666667 ... 332.66666667 333.\n 333.33333333]",
        string (Tensor.arange 1001 / 3.0)
    )

[<Fact>]
let ``2-d arrays over the threshold summarise rows and columns`` () =
    Assert.Equal(
        lines
            [
                "[[0.000e+00 1.000e+00 2.000e+00 ... 4.700e+01 4.800e+01 4.900e+01]"
                " [5.000e+01 5.100e+01 5.200e+01 ... 9.700e+01 9.800e+01 9.900e+01]"
                " [1.000e+02 1.010e+02 1.020e+02 ... 1.470e+02 1.480e+02 1.490e+02]"
                " ..."
                " [1.850e+03 1.851e+03 1.852e+03 ... 1.897e+03 1.898e+03 1.899e+03]"
                " [1.900e+03 1.901e+03 1.902e+03 ... 1.947e+03 1.948e+03 1.949e+03]"
                " [1.950e+03 1.951e+03 1.952e+03 ... 1.997e+03 1.998e+03 1.999e+03]]"
            ],
        string (Tensor.reshape [| 40; 50 |] (Tensor.arange 2000))
    )

[<Fact>]
let ``3-d arrays over the threshold summarise every long axis`` () =
    Assert.Equal(
        lines
            [
                "[[[0.000e+00 1.000e-03 2.000e-03 ... 1.100e-02 1.200e-02 1.300e-02]"
                "  [1.400e-02 1.500e-02 1.600e-02 ... 2.500e-02 2.600e-02 2.700e-02]"
                "  [2.800e-02 2.900e-02 3.000e-02 ... 3.900e-02 4.000e-02 4.100e-02]"
                "  ..."
                "  [8.400e-02 8.500e-02 8.600e-02 ... 9.500e-02 9.600e-02 9.700e-02]"
                "  [9.800e-02 9.900e-02 1.000e-01 ... 1.090e-01 1.100e-01 1.110e-01]"
                "  [1.120e-01 1.130e-01 1.140e-01 ... 1.230e-01 1.240e-01 1.250e-01]]"
                ""
                " [[1.260e-01 1.270e-01 1.280e-01 ... 1.370e-01 1.380e-01 1.390e-01]"
                "  [1.400e-01 1.410e-01 1.420e-01 ... 1.510e-01 1.520e-01 1.530e-01]"
                "  [1.540e-01 1.550e-01 1.560e-01 ... 1.650e-01 1.660e-01 1.670e-01]"
                "  ..."
                "  [2.100e-01 2.110e-01 2.120e-01 ... 2.210e-01 2.220e-01 2.230e-01]"
                "  [2.240e-01 2.250e-01 2.260e-01 ... 2.350e-01 2.360e-01 2.370e-01]"
                "  [2.380e-01 2.390e-01 2.400e-01 ... 2.490e-01 2.500e-01 2.510e-01]]"
                ""
                " [[2.520e-01 2.530e-01 2.540e-01 ... 2.630e-01 2.640e-01 2.650e-01]"
                "  [2.660e-01 2.670e-01 2.680e-01 ... 2.770e-01 2.780e-01 2.790e-01]"
                "  [2.800e-01 2.810e-01 2.820e-01 ... 2.910e-01 2.920e-01 2.930e-01]"
                "  ..."
                "  [3.360e-01 3.370e-01 3.380e-01 ... 3.470e-01 3.480e-01 3.490e-01]"
                "  [3.500e-01 3.510e-01 3.520e-01 ... 3.610e-01 3.620e-01 3.630e-01]"
                "  [3.640e-01 3.650e-01 3.660e-01 ... 3.750e-01 3.760e-01 3.770e-01]]"
                ""
                " ..."
                ""
                " [[6.300e-01 6.310e-01 6.320e-01 ... 6.410e-01 6.420e-01 6.430e-01]"
                "  [6.440e-01 6.450e-01 6.460e-01 ... 6.550e-01 6.560e-01 6.570e-01]"
                "  [6.580e-01 6.590e-01 6.600e-01 ... 6.690e-01 6.700e-01 6.710e-01]"
                "  ..."
                "  [7.140e-01 7.150e-01 7.160e-01 ... 7.250e-01 7.260e-01 7.270e-01]"
                "  [7.280e-01 7.290e-01 7.300e-01 ... 7.390e-01 7.400e-01 7.410e-01]"
                "  [7.420e-01 7.430e-01 7.440e-01 ... 7.530e-01 7.540e-01 7.550e-01]]"
                ""
                " [[7.560e-01 7.570e-01 7.580e-01 ... 7.670e-01 7.680e-01 7.690e-01]"
                "  [7.700e-01 7.710e-01 7.720e-01 ... 7.810e-01 7.820e-01 7.830e-01]"
                "  [7.840e-01 7.850e-01 7.860e-01 ... 7.950e-01 7.960e-01 7.970e-01]"
                "  ..."
                "  [8.400e-01 8.410e-01 8.420e-01 ... 8.510e-01 8.520e-01 8.530e-01]"
                "  [8.540e-01 8.550e-01 8.560e-01 ... 8.650e-01 8.660e-01 8.670e-01]"
                "  [8.680e-01 8.690e-01 8.700e-01 ... 8.790e-01 8.800e-01 8.810e-01]]"
                ""
                " [[8.820e-01 8.830e-01 8.840e-01 ... 8.930e-01 8.940e-01 8.950e-01]"
                "  [8.960e-01 8.970e-01 8.980e-01 ... 9.070e-01 9.080e-01 9.090e-01]"
                "  [9.100e-01 9.110e-01 9.120e-01 ... 9.210e-01 9.220e-01 9.230e-01]"
                "  ..."
                "  [9.660e-01 9.670e-01 9.680e-01 ... 9.770e-01 9.780e-01 9.790e-01]"
                "  [9.800e-01 9.810e-01 9.820e-01 ... 9.910e-01 9.920e-01 9.930e-01]"
                "  [9.940e-01 9.950e-01 9.960e-01 ... 1.005e+00 1.006e+00 1.007e+00]]]"
            ],
        string (Tensor.reshape [| 8; 9; 14 |] (Tensor.arange 1008 / 1000.0))
    )

[<Fact>]
let ``long rows wrap at 75 characters with a one-space indent`` () =
    Assert.Equal(
        lines
            [
                "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17."
                " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"
            ],
        string (Tensor.arange 30)
    )

    // inner rows wrap one character earlier and indent one more space per bracket
    Assert.Equal(
        lines
            [
                "[[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17."
                "  18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"
                " [30. 31. 32. 33. 34. 35. 36. 37. 38. 39. 40. 41. 42. 43. 44. 45. 46. 47."
                "  48. 49. 50. 51. 52. 53. 54. 55. 56. 57. 58. 59.]]"
            ],
        string (Tensor.reshape [| 2; 30 |] (Tensor.arange 60))
    )

[<Fact>]
let ``negative numbers align on the point`` () =
    Assert.Equal(
        lines
            [
                "[ -0.   -1.5  -3.   -4.5  -6.   -7.5  -9.  -10.5 -12.  -13.5 -15.  -16.5"
                " -18.  -19.5 -21.  -22.5 -24.  -25.5 -27.  -28.5 -30.  -31.5 -33.  -34.5"
                " -36.  -37.5 -39.  -40.5 -42.  -43.5]"
            ],
        string (Tensor.arange 30 * -1.5)
    )

    Assert.Equal("[-0.  1.]", string (Tensor.ofArray [| -0.0; 1.0 |]))

[<Fact>]
let ``scientific notation when values are huge, tiny or spread over more than 1e3`` () =
    Assert.Equal("[1.0e-05 1.5e+00]", string (Tensor.ofArray [| 1e-5; 1.5 |]))
    Assert.Equal("[1.e+10 2.e+20]", string (Tensor.ofArray [| 1e10; 2e20 |]))
    Assert.Equal("[-1.e+10  1.e+10]", string (Tensor.ofArray [| -1e10; 1e10 |]))
    Assert.Equal("[1.e+08 1.e+00]", string (Tensor.ofArray [| 1e8; 1.0 |]))
    Assert.Equal("[0.0000e+00 1.0005e+03 1.0000e+00]", string (Tensor.ofArray [| 0.0; 1000.5; 1.0 |]))
    Assert.Equal("[1.23456781e+07 1.00000000e+00]", string (Tensor.ofArray [| 12345678.123456789; 1.0 |]))
    Assert.Equal("[1.0e-005      nan 1.5e+000 1.0e+200]", string (Tensor.ofArray [| 1e-5; nan; 1.5; 1e200 |]))

    Assert.Equal(
        lines
            [
                "[0.0e+00 1.0e-05 2.0e-05 3.0e-05 4.0e-05 5.0e-05 6.0e-05 7.0e-05 8.0e-05"
                " 9.0e-05 1.0e-04 1.1e-04 1.2e-04 1.3e-04 1.4e-04 1.5e-04 1.6e-04 1.7e-04"
                " 1.8e-04 1.9e-04 2.0e-04 2.1e-04 2.2e-04 2.3e-04 2.4e-04]"
            ],
        string (Tensor.arange 25 * 1e-5)
    )

[<Fact>]
let ``positional notation up to a ratio of 1e3 and below 1e8`` () =
    Assert.Equal("[   0. 1000.    1.]", string (Tensor.ofArray [| 0.0; 1000.0; 1.0 |]))
    Assert.Equal("[99999999.   100000.]", string (Tensor.ofArray [| 99999999.0; 100000.0 |]))
    // at most 8 places, trailing zeros dropped, the shorter values padded on the right
    Assert.Equal("[0.3        0.33333333]", string (Tensor.ofArray [| 0.1 + 0.2; 1.0 / 3.0 |]))
    Assert.Equal("[100.25    nan   -inf]", string (Tensor.ofArray [| 100.25; nan; -infinity |]))
    Assert.Equal("[ nan -inf]", string (Tensor.ofArray [| nan; -infinity |]))

[<Fact>]
let ``int64 and bool arrays over the threshold are summarised`` () =
    Assert.Equal(
        "[-1500 -1499 -1498 ...  1497  1498  1499]",
        string (Tensor.convert Int64 (Tensor.arange 3000 - 1500.0))
    )

    Assert.Equal(
        "[False False False ...  True  True  True]",
        string (Tensor.gt (Tensor.arange 2000) (Tensor.scalar 1000.0))
    )
