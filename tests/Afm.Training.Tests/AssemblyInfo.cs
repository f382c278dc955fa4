// torch's thread count and default generator are process-wide: tests that train or time must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
