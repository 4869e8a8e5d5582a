import SluiceCore

// The parallel driver of an update.
//
// The top `splitDepth` levels are expanded once, on the calling thread, into a plan: every position at that
// depth with changes under it becomes an independent task (its own old subtree, its own range of the sorted
// changes, its own output lists). The tasks run on `threads` threads, then the calling thread folds the plan
// bottom-up with the same `combine` the recursion uses. The plan depends only on the tree and the changes,
// never on the thread count, so every thread count yields the same nodes in the same order.

/// A task: rebuild one subtree below the planned levels.
struct UpdateTask: Sendable {
    var depth: Int
    var path: Hash
    var existing: Existing
    var range: Range<Int>
    /// The leaf that `existing` names when it is `.read`: the task's worker has its own table.
    var carried: ReadLeaf?
}

/// The planned top of an update.
indirect enum UpdatePlan {
    /// No change falls under this position.
    case unchanged(Subtree)
    /// The subtree is rebuilt by task `index`.
    case task(Int)
    case split(depth: Int, path: Hash, opened: OpenedNode?, left: UpdatePlan, right: UpdatePlan)
}

/// The output of one task.
struct TaskOutput: Sendable {
    var subtree: Subtree
    /// The leaf that `subtree` names when it is `.leaf`.
    var leaf: PendingLeaf?
    var newNodes: [(key: NodeKey, node: MerkleNode)]
    var staleNodes: [NodeKey]
}

enum ParallelUpdate {
    /// Subtrees at this depth (up to 64) are computed concurrently.
    static let splitDepth = 6
    /// A range with fewer changes is one task: splitting it would cost more than it saves.
    static let minimumTaskSize = 256

    /// Rebuilds the whole tree and returns what to store. `nodesPerChange` sizes the output arrays up front
    /// (new nodes, stale nodes), so that they rarely grow.
    static func run(
        reader: any MerkleNodeReader, root: Existing, version: UInt64, changes: [Change], threads: Int,
        nodesPerChange: (new: Int, stale: Int)
    ) throws -> MerkleUpdate {
        var top = UpdateWorker(reader: reader, version: version, changes: changes, expected: (0, 0))
        var tasks: [UpdateTask] = []
        let plan = try top.plan(depth: 0, path: .zero, existing: root, range: 0..<changes.count, tasks: &tasks)

        let outputs = SlotArray<Result<TaskOutput, any Error>>(count: tasks.count)
        Parallel.forEach(count: tasks.count, threads: threads) { [tasks] index in
            let task = tasks[index]
            let count = task.range.count
            var worker = UpdateWorker(
                reader: reader, version: version, changes: changes,
                expected: (count * nodesPerChange.new + 4, count * nodesPerChange.stale + 4))
            worker.readLeaves.reserveCapacity(count + 1)
            worker.pendingLeaves.reserveCapacity(2 * count + 4)
            var existing = task.existing
            if let carried = task.carried {
                worker.readLeaves.append(carried)
                existing = .read(0)
            }
            outputs[index] = Result {
                let subtree = try worker.update(
                    depth: task.depth, path: task.path, existing: existing, range: task.range)
                var leaf: PendingLeaf? = nil
                if case .leaf(let i) = subtree { leaf = worker.pendingLeaves[i] }
                return TaskOutput(
                    subtree: subtree, leaf: leaf, newNodes: worker.newNodes, staleNodes: worker.staleNodes)
            }
        }
        var results: [TaskOutput] = []
        results.reserveCapacity(tasks.count)
        for index in 0..<tasks.count { results.append(try outputs[index]!.get()) }

        let subtree = try top.fold(plan, results: results)
        let rootChild = try top.place(subtree, depth: 0, path: .zero)

        let newNodes = Parallel.concatenate(results.map(\.newNodes) + [top.newNodes], threads: threads)
        let staleNodes = Parallel.concatenate(results.map(\.staleNodes) + [top.staleNodes], threads: threads)
        return MerkleUpdate(
            root: rootChild?.hash ?? .zero, rootKey: rootChild.map { NodeKey.root(version: $0.version) },
            newNodes: newNodes, staleNodes: staleNodes)
    }
}

extension UpdateWorker {
    /// Expands the top levels like `update` does and turns each subtree below them into a task.
    mutating func plan(
        depth: Int, path: Hash, existing: Existing, range: Range<Int>, tasks: inout [UpdateTask]
    ) throws -> UpdatePlan {
        if range.isEmpty { return .unchanged(unchanged(existing, depth: depth, path: path)) }
        if depth >= ParallelUpdate.splitDepth || range.count < ParallelUpdate.minimumTaskSize {
            var carried: ReadLeaf? = nil
            if case .read(let index) = existing { carried = readLeaves[index] }
            tasks.append(UpdateTask(depth: depth, path: path, existing: existing, range: range, carried: carried))
            return .task(tasks.count - 1)
        }
        // With two or more changes, `update` would expand this position too: the plan follows it exactly.
        let split = try expand(depth: depth, path: path, existing: existing, range: range)
        let left = try plan(
            depth: depth + 1, path: path, existing: split.left, range: range.lowerBound..<split.mid, tasks: &tasks)
        let right = try plan(
            depth: depth + 1, path: path.settingBit(depth), existing: split.right,
            range: split.mid..<range.upperBound, tasks: &tasks)
        return .split(depth: depth, path: path, opened: split.opened, left: left, right: right)
    }

    /// Combines the tasks' results up the planned levels.
    mutating func fold(_ plan: UpdatePlan, results: [TaskOutput]) throws -> Subtree {
        switch plan {
        case .unchanged(let subtree):
            return subtree
        case .task(let index):
            // A leaf is named by its index in the task's table: move it into this worker's.
            if let leaf = results[index].leaf { return pending(leaf) }
            return results[index].subtree
        case .split(let depth, let path, let opened, let left, let right):
            let l = try fold(left, results: results)
            let r = try fold(right, results: results)
            return try combine(depth: depth, path: path, left: l, right: r, old: opened)
        }
    }
}
