// SPDX-License-Identifier: MIT
// Minimal token contracts for tests: just enough to emit the standard events (no approvals, no hooks).
pragma solidity 0.8.30;

contract TestToken {
    mapping(address => uint256) public balanceOf;
    event Transfer(address indexed from, address indexed to, uint256 value);

    constructor(uint256 supply) {
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        require(balanceOf[msg.sender] >= amount, "balance");
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        emit Transfer(msg.sender, to, amount);
        return true;
    }
}

contract TestNFT {
    mapping(uint256 => address) public ownerOf;
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    function mint(address to, uint256 id) external {
        require(ownerOf[id] == address(0), "exists");
        ownerOf[id] = to;
        emit Transfer(address(0), to, id);
    }

    function transferFrom(address from, address to, uint256 id) external {
        require(ownerOf[id] == from && from == msg.sender, "owner");
        ownerOf[id] = to;
        emit Transfer(from, to, id);
    }
}

contract TestMulti {
    mapping(uint256 => mapping(address => uint256)) public balanceOf;
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);

    function mint(address to, uint256 id, uint256 amount) external {
        balanceOf[id][to] += amount;
        emit TransferSingle(msg.sender, address(0), to, id, amount);
    }

    function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        require(from == msg.sender && ids.length == amounts.length, "args");
        for (uint256 i = 0; i < ids.length; i++) {
            balanceOf[ids[i]][from] -= amounts[i];
            balanceOf[ids[i]][to] += amounts[i];
        }
        emit TransferBatch(msg.sender, from, to, ids, amounts);
    }
}

/// Emits non-standard events, as broken tokens on mainnet do: the connector must dead-letter them.
contract BadToken {
    /// No indexed parameters: a Transfer log with 1 topic.
    event Transfer(address from, address to, uint256 value);

    function misbehave(address to) external {
        emit Transfer(msg.sender, to, 5);
        // A TransferBatch with 4 topics but 3 bytes of data: undecodable.
        bytes32 sig = keccak256("TransferBatch(address,address,address,uint256[],uint256[])");
        assembly {
            mstore(0, 0xabcdef)
            log4(29, 3, sig, caller(), caller(), to)
        }
    }
}
