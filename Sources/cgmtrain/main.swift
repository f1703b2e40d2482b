import ArgumentParser

/// `cgmtrain`: glucose-forecasting training with MPI data parallelism.
struct CGMTrainCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgmtrain",
        abstract: "Train glucose-forecasting models with MPI data parallelism.",
        subcommands: [DemoCommand.self, SimulateCommand.self, TrainCommand.self, EvaluateCommand.self, CheckSystemCommand.self]
    )
}

CGMTrainCLI.main()
