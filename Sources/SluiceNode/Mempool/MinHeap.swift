/// A binary min-heap stored in an array: the smallest element by `<` is at the top.
struct MinHeap<Element: Comparable> {
    private(set) var elements: [Element] = []

    init() {}

    /// Builds a heap from `items`.
    /// - Complexity: O(n)
    init(_ items: [Element]) {
        elements = items
        var i = elements.count / 2 - 1
        while i >= 0 {
            siftDown(i)
            i -= 1
        }
    }

    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }

    /// The smallest element.
    /// - Complexity: O(1)
    var min: Element? { elements.first }

    /// - Complexity: O(log n)
    mutating func push(_ element: Element) {
        elements.append(element)
        siftUp(elements.count - 1)
    }

    /// Removes and returns the smallest element.
    /// - Complexity: O(log n)
    mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let top = elements.removeLast()
        if !elements.isEmpty { siftDown(0) }
        return top
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { return }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = elements.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { return }
            var smallest = left
            if left + 1 < n, elements[left + 1] < elements[left] { smallest = left + 1 }
            guard elements[smallest] < elements[parent] else { return }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension MinHeap: Sendable where Element: Sendable {}
