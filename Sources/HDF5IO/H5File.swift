// H5File: an HDF5 file and its root group. Files made with `create` are written to a temporary sibling
// (`path + ".tmp-<pid>"`) and only `commit()`/`close()` flushes, fsyncs and renames them to `path`, so a
// crash or a thrown error never leaves a half-written file under the real name. A created file dropped
// without commit (or `discard()`ed) is deleted.
//
// Files are opened with H5F_CLOSE_STRONG: closing the file closes every group/dataset handle opened from
// it, so no identifier outlives the file. HDF5 (Debian's serial build) is not thread-safe: use HDF5IO
// from one thread at a time.

import CHDF5
import Foundation

/// An open HDF5 file; also its root group ("/").
public final class H5File: H5Group {

    /// Starts writing a new file at `path` (replacing any existing file on commit). Data goes to
    /// `path + ".tmp-<pid>"` until `commit()`.
    public static func create(path: String) throws -> H5File {
        H5Library.ensureInitialized()
        let temp = path + ".tmp-\(getpid())"
        let fapl = try strongCloseFAPL(path: path, operation: "create file")
        defer { H5Pclose(fapl) }
        let fid = H5Fcreate(temp, cgm_h5f_acc_trunc(), cgm_h5p_default(), fapl)
        if fid < 0 {
            throw HDF5Error(file: path, object: "/", operation: "create file",
                            message: "(temporary \(temp)) " + H5Library.takeErrorStack())
        }
        let state = H5FileState(id: fid, path: path, diskPath: temp, isTemporary: true, readOnly: false)
        return H5File(id: fid, state: state, path: "/", owner: nil, closesOnDeinit: false)
    }

    /// Creates a file, runs `body`, and commits; if `body` throws, the file is discarded (nothing is left
    /// at `path` or at the temporary path) and the error rethrown.
    @discardableResult
    public static func create<R>(path: String, _ body: (H5File) throws -> R) throws -> R {
        let file = try create(path: path)
        let result: R
        do {
            result = try body(file)
        } catch {
            file.discard()
            throw error
        }
        try file.commit()
        return result
    }

    /// Opens an existing file. With `readOnly: false` changes are written in place (not atomically).
    public static func open(path: String, readOnly: Bool = true) throws -> H5File {
        H5Library.ensureInitialized()
        guard FileManager.default.fileExists(atPath: path) else {
            throw HDF5Error(file: path, object: "/", operation: "open file", message: "no such file")
        }
        let fapl = try strongCloseFAPL(path: path, operation: "open file")
        defer { H5Pclose(fapl) }
        let fid = H5Fopen(path, readOnly ? cgm_h5f_acc_rdonly() : cgm_h5f_acc_rdwr(), fapl)
        if fid < 0 {
            throw HDF5Error(file: path, object: "/", operation: "open file", message: H5Library.takeErrorStack())
        }
        let state = H5FileState(id: fid, path: path, diskPath: path, isTemporary: false, readOnly: readOnly)
        return H5File(id: fid, state: state, path: "/", owner: nil, closesOnDeinit: false)
    }

    private static func strongCloseFAPL(path: String, operation: String) throws -> hid_t {
        let fapl = H5Pcreate(cgm_h5p_file_access())
        if fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 {
            let message = H5Library.takeErrorStack()
            if fapl >= 0 { H5Pclose(fapl) }
            throw HDF5Error(file: path, object: "/", operation: operation, message: message)
        }
        return fapl
    }

    /// True until `commit()`, `close()` or `discard()`.
    public var isOpen: Bool { state.isOpen }

    /// True for files opened with `open(path:readOnly: true)`.
    public var isReadOnly: Bool { state.readOnly }

    /// Finishes the file. For a created file: flush, close, fsync, rename the temporary sibling to `path`
    /// and fsync the directory. For an opened file: flush (if writable) and close. Idempotent; every
    /// group/dataset handle of the file becomes invalid.
    public func commit() throws {
        guard state.isOpen else { return }
        let op = "commit file"
        if !state.readOnly, H5Fflush(state.id, H5F_SCOPE_GLOBAL) < 0 {
            let e = stackError(op)
            discard()
            throw e
        }
        state.isOpen = false
        if H5Fclose(state.id) < 0 {
            let e = stackError(op)
            if state.isTemporary { unlink(state.diskPath) }
            throw e
        }
        guard state.isTemporary else { return }
        do {
            try Self.fsync(path: state.diskPath, directory: false)
            if rename(state.diskPath, state.path) != 0 {
                throw posixError(op, "rename \(state.diskPath) -> \(state.path)")
            }
            try? Self.fsync(path: (state.path as NSString).deletingLastPathComponent, directory: true)
        } catch {
            unlink(state.diskPath)
            throw error
        }
    }

    /// Same as `commit()`.
    public func close() throws { try commit() }

    /// Closes without committing: a created file's temporary is deleted and nothing appears at `path`.
    /// For an opened file this just closes it. Idempotent.
    public func discard() {
        guard state.isOpen else { return }
        state.isOpen = false
        if H5Fclose(state.id) < 0 { _ = H5Library.takeErrorStack() }
        if state.isTemporary { unlink(state.diskPath) }
    }

    deinit {
        // Uncommitted created files are discarded; opened files are closed.
        discard()
    }

    private func posixError(_ op: String, _ what: String) -> HDF5Error {
        let code = errno
        return error(op, "/", "\(what): \(String(cString: strerror(code)))")
    }

    private static func fsync(path: String, directory: Bool) throws {
        let dirPath = path.isEmpty ? "." : path
        let fd = Glibc.open(dirPath, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY)
        guard fd >= 0 else {
            throw HDF5Error(file: path, object: "/", operation: "fsync", message: String(cString: strerror(errno)))
        }
        defer { Glibc.close(fd) }
        if Glibc.fsync(fd) != 0 {
            throw HDF5Error(file: path, object: "/", operation: "fsync", message: String(cString: strerror(errno)))
        }
    }
}
