module FunDiff.Tests.TensorTests
