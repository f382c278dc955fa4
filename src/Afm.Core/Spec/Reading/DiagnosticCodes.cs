namespace Afm.Core.Spec.Reading;

/// <summary>
/// The stable codes of the project reader. A code never changes meaning once released: users search for
/// it and suppress warnings by it. specs/diagnostics.md documents each one with a bad input and its fix.
/// </summary>
internal static class DiagnosticCodes
{
    // 10xx: values in general (any property or metadata).
    public const string RequiredPropertyMissing = "AFM1001";
    public const string InvalidNumber = "AFM1002";
    public const string NumberOutOfRange = "AFM1003";
    public const string InvalidBoolean = "AFM1004";
    public const string InvalidVersion = "AFM1005";
    public const string UnknownMetadata = "AFM1006";
    public const string RequiredMetadataMissing = "AFM1007";
    public const string InvalidName = "AFM1008";
    public const string ResourcesExceeded = "AFM1009";
    public const string ResourcesNearMachine = "AFM1010";
    public const string InvalidDeterminism = "AFM1020";
    public const string PortableDeterminismUnsupportedCpu = "AFM1021";
    public const string InvalidOnnxOps = "AFM1035";
    public const string FusedOpsUnsupportedHeadDim = "AFM1036";

    // 11xx: architecture.
    public const string HeadsDoNotDivideModelDim = "AFM1101";
    public const string KvHeadsDoNotDivideHeads = "AFM1102";
    public const string OddHeadDim = "AFM1103";

    // 111x: the generalized decoder (head width, biases, layer-wise scaling).
    public const string ScalingWithoutHeadDim = "AFM1110";
    public const string PropertyDerivedByScaling = "AFM1111";
    public const string InvalidMultipliers = "AFM1112";
    public const string OddExplicitHeadDim = "AFM1113";
    public const string ScalingPropertyWithoutScaling = "AFM1114";

    // 12xx: tokenizer.
    public const string TokenizerMissing = "AFM1201";
    public const string MultipleTokenizers = "AFM1202";
    public const string UnknownTokenizerKind = "AFM1203";
    public const string VocabSizeTooSmall = "AFM1204";
    public const string DuplicateSpecialToken = "AFM1205";

    // 13xx: corpora and eval sets.
    public const string CorpusMissing = "AFM1301";
    public const string FileNotFound = "AFM1302";
    public const string PatternMatchedNoFiles = "AFM1303";
    public const string ConflictingFileSetSettings = "AFM1304";
    public const string UnknownFormat = "AFM1305";
    public const string NotAnOrdinaryFile = "AFM1306";
    public const string TextFileTooLarge = "AFM1307";

    // 135x: data-cleaning metadata of corpora and eval sets (DataCleaningReader).
    public const string InvalidNGramRange = "AFM1350";

    // 1351-1379: EvalTask items (the evaluate stage; AFM240x are raised while reading their files).
    public const string UnknownEvalTaskKind = "AFM1351";
    public const string EvalTaskFileNotFound = "AFM1352";
    public const string ShotsWithoutFewShotData = "AFM1353";
    public const string EvalTaskAdapterUnknown = "AFM1354";
    public const string EvalTaskMetadataNotForKind = "AFM1355";
    public const string FewShotDataNotFound = "AFM1356";
    public const string EvalTaskPatternMatchedNoFiles = "AFM1357";
    public const string EvalTaskEvalSetUnknown = "AFM1358";

    // 14xx: training stages.
    public const string StageMissing = "AFM1401";
    public const string UnknownStageKind = "AFM1402";
    public const string DuplicateStageName = "AFM1403";
    public const string SequenceLengthExceedsMax = "AFM1404";
    public const string InvalidMixSyntax = "AFM1405";
    public const string MixUnknownCorpus = "AFM1406";
    public const string MixNonPositiveWeight = "AFM1407";
    public const string MixDuplicateCorpus = "AFM1408";
    public const string UnknownSchedule = "AFM1409";
    public const string WarmupNotShorterThanStage = "AFM1410";
    public const string UnknownOptimizer = "AFM1411";
    public const string SftStageWithoutData = "AFM1412";
    public const string StageDataMatchedNoFiles = "AFM1413";
    public const string MetadataNotForStageKind = "AFM1414";

    // 142x: the Teacher item (distillation).
    public const string TeacherProjectNotFound = "AFM1420";
    public const string MultipleTeachers = "AFM1421";
    public const string TeacherIsThisProject = "AFM1422";
    public const string UnknownTeacherPrune = "AFM1423";
    public const string TeacherNotAProject = "AFM1424";
    public const string UnknownDistillTarget = "AFM1425";
    public const string TemperatureWithoutDistribution = "AFM1426";
    // 1427-1439: metadata of Adapter items the adapters stage reads (specs/adapters.md).
    public const string UnknownAdapterObjective = "AFM1427";
    public const string DistillationWithoutMix = "AFM1428";
    public const string UnknownAdapterInit = "AFM1429";

    // 1440-1459: post-training stage kinds (reward, dpo, rejection-sampling, rl; specs/post-training.md).
    public const string StageKindNotBuilt = "AFM1440";
    public const string PreferenceStageWithoutData = "AFM1441";
    public const string UnknownPreferenceLoss = "AFM1442";
    public const string RewardModelUnknown = "AFM1443";
    public const string PreferenceStageFirst = "AFM1444";
    // rejection-sampling (iTeC) and rl (MDLOO) stages.
    public const string SamplingStageWithoutRewardModel = "AFM1445";
    public const string CommitteeMemberUnknown = "AFM1446";
    public const string CommitteeMemberNotAStage = "AFM1447";
    public const string TooFewSamples = "AFM1448";
    // Resident weights at run time (issue #23).
    public const string UnknownRuntimeActivations = "AFM1470";
    public const string RuntimeActivationsWithoutNBits = "AFM1471";

    // 15xx: items of later pipeline stages.
    public const string StageNotAvailable = "AFM1501";

    // 160x: the BaseModel item and the interchange formats (AFM162x-164x: Afm.Interchange's InterchangeCodes, raised
    // while reading a checkpoint; specs/diagnostics.md).
    public const string MultipleBaseModels = "AFM1601";
    public const string BaseModelFolderNotFound = "AFM1602";
    public const string PropertyDisagreesWithBaseModel = "AFM1603";
    public const string TokenizerWithBaseModel = "AFM1604";
    public const string SequenceLengthBeyondBaseModel = "AFM1605";
    public const string BaseModelNotReadable = "AFM1607";
    // 1633-1639: Precision of TrainingStage and Adapter items (set aside for the imported models' precision work).
    public const string UnknownPrecision = "AFM1633";
    public const string Bf16UnderPortableDeterminism = "AFM1634";
    // 1690-1699: an sft stage's pretraining mix (MixShare; specs/afmproj.md).
    public const string MixWithoutShare = "AFM1690";
    public const string MixShareRoundsAway = "AFM1691";
    public const string MixShareWithoutCorpus = "AFM1692";
    // A reward stage's Readout (specs/post-training.md).
    public const string UnknownRewardReadout = "AFM1693";
    // 1658-1659: AfmChatTemplate (1659, the render check, is raised by the package stage).
    public const string ChatTemplateFileUnusable = ChatTemplateSpec.FileUnusableCode;

    // 40xx: the quantization plan (41xx and 42xx are raised by the quantize stage and the baseline gate).
    public const string MultipleQuantizationPlans = "AFM4001";
    public const string UnknownQuantizationMethod = "AFM4002";
    public const string LowBitsAboveBits = "AFM4003";
    public const string UnknownLutType = "AFM4004";
    public const string UnknownEmbeddingFormat = "AFM4005";
    public const string UnknownImportance = "AFM4006";
    public const string InvalidOverride = "AFM4007";
    public const string UnknownDevice = "AFM4008";
    // AFM4009 (latency/energy budgets not applied) is retired: the allocator applies them now.
    public const string DeviceBudgetWithoutDevice = "AFM4010";
    public const string UnknownRounding = "AFM4011";
    public const string UnknownRuntimeForm = "AFM1030";
    // AFM4300 (RuntimeForm="nbits" with Method="palettize") is retired: nbits palettes are constrained to a zero-point grid.
    public const string RuntimeFormInt8Lut = "AFM4303";
    public const string RuntimeFormBits = "AFM4301";

    // 50xx: device profiles (51xx are raised by the profile stage, see specs/profiling.md).
    public const string DeviceProfileIncomplete = "AFM5001";
    public const string DuplicateDeviceProfile = "AFM5002";
    public const string UnknownBaseDevice = "AFM5003";
    public const string DeviceValueOutOfRange = "AFM5004";
    public const string DeviceValueImplausible = "AFM5005";
    public const string UnknownComputeType = "AFM5006";
    // AFM5101 is the profile stage's code too: validate now finds it first, at the attribute.
    public const string WorkloadExceedsContext = "AFM5101";

    // 60xx: Adapter items (61xx are raised by the adapters stage, see specs/adapters.md).
    public const string UnknownAdapterKind = "AFM6001";
    public const string InvalidRanks = "AFM6002";
    public const string InitFromUnknown = "AFM6003";
    public const string FeatureAdapterWithoutData = "AFM6004";
    public const string AdapterDataMatchedNoFiles = "AFM6005";
    public const string AdapterStageUnknown = "AFM6006";
    public const string DuplicateAdapterName = "AFM6007";
    public const string AdapterMetadataNotForKind = "AFM6008";
    public const string AdaptersWithoutQuantizationPlan = "AFM6009";
    public const string ControlWithoutQuantizationPlan = "AFM6010";
    public const string DistillWithoutQuantizationPlan = "AFM6011";
    public const string ErrorInitWithoutQuantizationPlan = "AFM6012";

    // 6100-6149: the runtime export formats (specs/gguf.md, specs/genai.md; the formats' own refusals are in Afm.Interchange).
    public const string UnknownExportFormat = "AFM6103";
    public const string UnknownGgufType = "AFM6104";

    // 9xxx: the toolchain's own faults, never the user's.
    public const string MalformedSnapshot = "AFM9001";
}
