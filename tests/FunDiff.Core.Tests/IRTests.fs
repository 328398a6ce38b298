module FunDiff.Tests.IRTests
